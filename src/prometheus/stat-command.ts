import type { Options } from '../commands/egress-stat.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import type { KubeClient } from '../kube/rest.js';
import type { StatReport } from '../metrics/stat.js';
import { connectSettings, resolveNamespace } from '../options/global.js';
import {
  POD_NAMES_LIMIT,
  countProxies,
  fetchStatFromPrometheus,
  podSampleLedger,
  podSampleReport,
  queryPodSample,
  queryWorkloadReport,
} from './egress.js';
import { chooseSource, noProxies, promEndpoint, promRead, promScope } from './source.js';

/**
 * `egress stat` from Prometheus, when `chooseSource` (source.ts) picks it; undefined when the pods
 * source should answer. Rows at a grain of network, route or host are one series each; `--by pod`,
 * `-o ledger` and `--by workload` up to POD_NAMES_LIMIT proxies read one series per (row, pod), as a
 * scrape of the pods would; `--by workload` past it, one per (row, workload).
 */
export async function statFromPrometheus(
  o: Options,
  deps: Deps,
  finish: (r: StatReport, text: string) => number,
  render: (r: StatReport) => string,
): Promise<number | undefined> {
  const choice = chooseSource(o.prometheus, deps.env);
  if (choice.type === 'pods') return undefined;
  if (o.intervalMs > 0 || o.watch)
    throw new UsageError(
      `--interval and --watch scrape the proxies twice; from Prometheus use --since DURATION (or --source pods)`,
    );
  const namespace = o.allNamespaces ? undefined : await resolveNamespace(o.global, o.namespace, deps.env);
  let client: KubeClient | undefined;
  const kube = async () => (client ??= await deps.kube(connectSettings(o.global, namespace ?? 'default')));
  try {
    const scope = await promScope(o.pods, namespace, kube);
    const endpoint = await promEndpoint(choice, o.prometheus, { timeoutMs: o.timeoutMs }, kube);
    const query = promRead(deps, {
      scope,
      windowSeconds: o.prometheus.sinceSeconds,
      deadlineMs: o.timeoutMs,
    });
    let report: StatReport;
    let text: string | undefined;
    if (
      o.output !== 'ledger' &&
      o.by === 'workload' &&
      (await countProxies(endpoint, query)) > POD_NAMES_LIMIT
    ) {
      // Rows per workload without a series per pod: past the limit, each row counts its pods.
      report = await queryWorkloadReport(endpoint, query);
    } else if (o.output === 'ledger' || o.by === 'pod' || o.by === 'workload') {
      const ledger = o.output === 'ledger';
      const p = await queryPodSample(endpoint, {
        ...query,
        owners: ledger || o.by === 'workload',
        latency: !ledger,
      });
      report = podSampleReport(p, ledger || o.by === 'pod' ? 'pod' : 'workload', endpoint.name);
      if (ledger) text = `${JSON.stringify(podSampleLedger(p, endpoint.name), null, 2)}\n`;
    } else report = await fetchStatFromPrometheus(endpoint, { ...query, by: o.by });
    if (report.pods.scraped === 0) throw noProxies(endpoint, o.pods, namespace);
    return finish(report, text ?? render(report));
  } finally {
    client?.close();
  }
}
