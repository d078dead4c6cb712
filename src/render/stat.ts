import { Chalk } from 'chalk';
import { stringify } from 'yaml';
import type { Verdict } from '../metrics/egress.js';
import type { StatReport, StatRowJson } from '../metrics/stat.js';
import { renderTable } from './table.js';

/** The outputs of `egress stat`, keyed by `-o`. */
export type StatOutput = 'table' | 'wide' | 'json' | 'yaml';

const fmtMs = (ms: number | undefined) =>
  ms === undefined
    ? '-'
    : ms >= 1000
      ? `${(ms / 1000).toFixed(1)}s`
      : `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)}ms`;
const fmtCount = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** The table (`wide` adds pods, statuses and redirect targets). Denied traffic is red when `color`. */
export function renderStatTable(r: StatReport, o: { wide: boolean; color: boolean }): string {
  const c = new Chalk({ level: o.color ? 1 : 0 });
  const paint = (v: Verdict, s: string) =>
    v === 'denied'
      ? c.red(s)
      : v === 'failed'
        ? c.yellow(s)
        : v === 'redirected'
          ? c.cyan(s)
          : v === 'mixed'
            ? c.magenta(s)
            : c.green(s);
  const rated = r.window.mode === 'rate';
  const headers = [
    'NETWORK',
    'PORT',
    'PROTO',
    'ROUTE',
    'DESTINATION',
    'VERDICT',
    rated ? 'RATE' : 'REQ/CONN',
    'SUCCESS',
    'DENIED',
    'P50',
    'P95',
    'P99',
    ...(o.wide ? ['PODS', 'STATUSES', 'REDIRECT'] : []),
  ];
  const line = (x: StatRowJson): string[] => {
    const volume = x.connections ? x.connections.opened : x.requests;
    const ok = volume - x.denied - x.failed;
    const success = volume > 0 ? `${((Math.max(0, ok) / volume) * 100).toFixed(1)}%` : '-';
    const route = x.route.kind === '*' ? '*' : `${x.route.kind}/${x.route.name}`;
    return [
      x.network ? `${x.network.namespace}/${x.network.name}` : '(uncaptured)',
      x.port === null ? '-' : String(x.port),
      x.protocol,
      route,
      x.destination === '' ? '?' : x.destination,
      paint(x.verdict, x.verdict),
      rated ? `${fmtCount(x.rate ?? 0)}/s` : String(volume),
      success,
      x.denied > 0 ? c.red(fmtCount(x.denied)) : '0',
      fmtMs(x.latencyMs?.p50),
      fmtMs(x.latencyMs?.p95),
      fmtMs(x.latencyMs?.p99),
      ...(o.wide
        ? [
            String(x.podCount ?? x.pods.length),
            Object.entries(x.statuses)
              .map(([k, v]) => `${k}:${fmtCount(v)}`)
              .join(' ') ||
              (x.connections ? `closed:${x.connections.closed} forbidden:${x.connections.forbidden}` : '-'),
            x.redirectTo ?? '-',
          ]
        : []),
    ];
  };
  const rows = [...r.rows, ...r.uncaptured].map(line);
  const across = `${r.pods.scraped} pod(s)${r.pods.unmeshed.length ? ` (${r.pods.meshed}/${r.pods.total} meshed)` : ''}`;
  const head = rated
    ? `Egress over the last ${r.window.mode === 'rate' ? r.window.seconds : 0}s across ${across}.\n`
    : `Egress totals since each proxy started, across ${across} (use --interval 10s for rates).\n`;
  if (rows.length === 0) return `${head}No egress traffic seen.\n`;
  return head + renderTable(headers, rows);
}

/** The table followed by the report's notices, as `note:` lines. */
function renderStatText(r: StatReport, o: { wide: boolean; color: boolean }): string {
  let text = renderStatTable(r, o);
  for (const n of r.notices) text += `note: ${n}\n`;
  return text;
}

/**
 * `statFormats[o.output](report, { color })`: the one place a new `-o` for `egress stat` is added. JSON
 * and YAML are the report itself (schemaVersion 1, documented in the README); colour applies to tables.
 */
export const statFormats: Record<StatOutput, (r: StatReport, o: { color: boolean }) => string> = {
  table: (r, o) => renderStatText(r, { wide: false, color: o.color }),
  wide: (r, o) => renderStatText(r, { wide: true, color: o.color }),
  json: (r) => `${JSON.stringify(r, null, 2)}\n`,
  yaml: (r) => stringify(r),
};
