import type { Options } from '../commands/egress-stat.js';
import type { Deps } from '../deps.js';
import { ClusterError, UsageError } from '../errors.js';
import { describeSelection, resolvePods } from '../kube/resolve.js';
import type { KubeClient } from '../kube/rest.js';
import type { StatReport } from '../metrics/stat.js';
import { connectSettings, resolveNamespace } from '../options/global.js';
import { inNamespace } from '../commands/pods.js';
import { readAuthFiles, urlEndpoint, type Auth, type Endpoint } from './client.js';
import { discoverVizPrometheus } from './discover.js';
import { fetchStatFromPrometheus } from './egress.js';
import { parsePrometheusUrl } from './flags.js';
import { workloadLabel, type PromScope } from './queries.js';

/**
 * `egress stat` from Prometheus. Which source answers (one rule, documented in the README):
 *   - `--source pods`: the proxies;
 *   - `--prometheus URL` or $EGRESSCTL_PROMETHEUS (with `--source auto|prometheus`): that server;
 *   - `--source prometheus`, or `--since` (only Prometheus has history): linkerd-viz's, discovered;
 *   - otherwise (auto, nothing asked): the proxies, as before.
 * Returns undefined when the pods source should answer.
 */
export async function statFromPrometheus(
  o: Options,
  deps: Deps,
  finish: (r: StatReport, text: string) => number,
  render: (r: StatReport) => string,
): Promise<number | undefined> {
  const p = o.prometheus;
  if (p.source === 'pods') return undefined;
  const env = deps.env.EGRESSCTL_PROMETHEUS;
  const url = p.url ?? (env ? parsePrometheusUrl(env, 'EGRESSCTL_PROMETHEUS') : undefined);
  if (!url && p.source === 'auto' && p.sinceSeconds === undefined) return undefined;
  if (o.intervalMs > 0 || o.watch)
    throw new UsageError(
      `--interval and --watch scrape the proxies twice; from Prometheus use --since DURATION (or --source pods)`,
    );
  if (o.allNamespaces && o.pods.by === 'selector')
    throw new UsageError('-l with the Prometheus source needs one namespace: use -n, or --source pods');

  const auth: Auth = { ...readAuthFiles(p), headers: p.headers };
  if (p.basicAuthFile) {
    const { readFileSync } = await import('node:fs');
    try {
      auth.basic = readFileSync(p.basicAuthFile, 'utf8').trim();
    } catch (e) {
      throw new UsageError(
        `cannot read --prometheus-basic-auth-file ${p.basicAuthFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  const namespace = o.allNamespaces ? undefined : await resolveNamespace(o.global, o.namespace, deps.env);
  let client: KubeClient | undefined;
  const kube = async () => (client ??= await deps.kube(connectSettings(o.global, namespace ?? 'default')));
  try {
    let endpoint: Endpoint | undefined = url ? urlEndpoint(url, auth) : undefined;
    endpoint ??= await discoverVizPrometheus(await kube(), {
      auth,
      connectTimeoutMs: Math.min(o.timeoutMs, 10_000),
    });
    if (!endpoint)
      throw new ClusterError(
        `${p.sinceSeconds !== undefined ? '--since needs Prometheus, but ' : ''}no namespace is labelled linkerd.io/extension=viz: pass --prometheus URL (or set EGRESSCTL_PROMETHEUS), or install linkerd-viz`,
      );
    const scope: PromScope = { namespace };
    const selection = inNamespace(o.pods, namespace);
    if (o.pods.by === 'target')
      scope.workload = {
        label: workloadLabel(o.pods.target.kind, o.pods.target.text),
        name: o.pods.target.name,
      };
    else if (o.pods.by === 'selector') {
      // Prometheus has no pod labels (viz keeps only the owner's): the API server resolves the selector.
      const pods = await resolvePods(await kube(), selection);
      if (pods.length === 0) throw new ClusterError(`no pods found for ${describeSelection(selection)}`);
      scope.pods = pods.map((x) => x.metadata.name);
    }
    // viz relabels proxies with their owner, but grouping by workload is the pods source's (for now).
    if (o.by === 'workload')
      throw new UsageError('--by workload reads the proxies: add --source pods, or group by pod');
    const report = await fetchStatFromPrometheus(endpoint, {
      scope,
      windowSeconds: p.sinceSeconds,
      by: o.by,
      at: deps.now(),
      signal: deps.signal,
      deadlineMs: o.timeoutMs,
      onWarning: (w) => deps.err.write(`warning: ${w}\n`),
    });
    if (report.pods.scraped === 0)
      throw new ClusterError(
        `${endpoint.name} has no linkerd-proxy series (proxy_build_info) for ${describeSelection(selection)}: check that it scrapes the proxies, as linkerd-viz's scrape config does`,
      );
    return finish(report, render(report));
  } finally {
    client?.close();
  }
}
