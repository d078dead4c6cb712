import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseDuration } from '../options/duration.js';

/**
 * The Prometheus source's flags, shared by every command that reads egress (stat now; learn and plan
 * can add the same set). Light: loaded for `--help`, so it imports only commander.
 */

export type SourceChoice = 'auto' | 'pods' | 'prometheus';

export interface PrometheusFlags {
  prometheus?: string;
  source?: SourceChoice;
  since?: string;
  prometheusTokenFile?: string;
  prometheusCaFile?: string;
  prometheusBasicAuthFile?: string;
  prometheusHeader?: string[];
}

export interface PrometheusOptions {
  /** `--prometheus` (EGRESSCTL_PROMETHEUS is read in run, from deps.env). */
  url: URL | undefined;
  source: SourceChoice;
  /** `--since` in seconds; undefined: totals since each proxy started. */
  sinceSeconds: number | undefined;
  tokenFile: string | undefined;
  caFile: string | undefined;
  basicAuthFile: string | undefined;
  headers: Record<string, string>;
}

export function addPrometheusFlags(cmd: Command): Command {
  return cmd
    .option('--prometheus <url>', 'read egress from this Prometheus (or $EGRESSCTL_PROMETHEUS)')
    .addOption(
      new Option(
        '--source <source>',
        'pods: scrape each proxy; prometheus: query Prometheus; auto: Prometheus when --prometheus, $EGRESSCTL_PROMETHEUS or --since asks for it',
      )
        .choices(['auto', 'pods', 'prometheus'])
        .default('auto'),
    )
    .option('--since <duration>', 'from Prometheus: increase() and rate() over this window (1h, 1d, 7d)')
    .option('--prometheus-token-file <file>', 'bearer token for --prometheus')
    .option('--prometheus-ca-file <file>', 'CA bundle (PEM) to trust for an https --prometheus')
    .option('--prometheus-basic-auth-file <file>', 'USER:PASSWORD for --prometheus (or put them in the URL)')
    .option(
      '--prometheus-header <name=value>',
      'extra header for --prometheus, repeatable (X-Scope-OrgID=tenant for Mimir, Cortex)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    );
}

/** Parses a Prometheus URL given by a flag or the environment; `from` names where it came from. */
export function parsePrometheusUrl(text: string, from: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`invalid ${from} "${text}": want an http(s) URL such as http://prometheus:9090`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`invalid ${from} "${text}": want an http:// or https:// URL`);
  if (u.search || u.hash)
    throw new UsageError(
      `invalid ${from} "${text}": give the server's base URL, without ?query or #fragment`,
    );
  return u;
}

/** The longest `--since`: ten years, beyond any Prometheus, Thanos or Mimir retention. */
const MAX_SINCE_MS = 3650 * 86_400_000;

/** `--since`: kubectl durations plus Prometheus' `d` and `w` (`7d`, `1w2d`, `1h30m`), in whole seconds. */
export function parseSince(text: string): number {
  const seconds = Math.round(parseDuration(text, '--since', { maxMs: MAX_SINCE_MS }) / 1000);
  if (seconds < 1)
    throw new UsageError(
      `invalid value "${text}" for --since: want a window of 1s or more, such as 1h or 7d`,
    );
  return seconds;
}

export function validatePrometheusFlags(f: PrometheusFlags): PrometheusOptions {
  const headers: Record<string, string> = {};
  for (const h of f.prometheusHeader ?? []) {
    const eq = h.indexOf('=');
    const name = eq > 0 ? h.slice(0, eq).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new UsageError(
        `invalid --prometheus-header "${h}": want NAME=VALUE, e.g. X-Scope-OrgID=tenant-1`,
      );
    headers[name] = h.slice(eq + 1);
  }
  const url = f.prometheus !== undefined ? parsePrometheusUrl(f.prometheus, '--prometheus') : undefined;
  if (f.source === 'pods' && url)
    throw new UsageError('--source pods reads the proxies: drop --prometheus, or use --source prometheus');
  const sinceSeconds = f.since !== undefined ? parseSince(f.since) : undefined;
  if (f.source === 'pods' && sinceSeconds !== undefined)
    throw new UsageError(
      '--since needs Prometheus (the proxies keep no history): use --source prometheus, or --interval with the pods',
    );
  return {
    url,
    source: f.source ?? 'auto',
    sinceSeconds,
    tokenFile: f.prometheusTokenFile,
    caFile: f.prometheusCaFile,
    basicAuthFile: f.prometheusBasicAuthFile,
    headers,
  };
}
