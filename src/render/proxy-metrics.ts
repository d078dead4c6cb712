import { errorMessage } from '../errors.js';
import type { ScrapeResult } from '../kube/scrape.js';

/** The metrics module, loaded by the command only when a flag needs parsing (raw output needs none). */
export type MetricsModule = typeof import('../metrics/index.js');

/** How `proxy-metrics` shows each pod's body. */
export interface ProxyMetricsFormat {
  output: 'raw' | 'json';
  egress: boolean;
  obfuscate: boolean;
}

/**
 * One scrape result in linkerd's `diagnostics proxy-metrics` layout (or as a JSON array element, indented
 * to sit inside `[ ... ]`), after --egress / --obfuscate. A body that does not parse becomes the pod's
 * error.
 */
export function renderPodMetrics(
  r: ScrapeResult,
  i: number,
  total: number,
  opts: ProxyMetricsFormat,
  metrics: MetricsModule | undefined,
): { text: string; error?: string; warning?: string } {
  let body = r.body;
  let warning: string | undefined;
  let error = r.error;
  let families: unknown;
  if (body !== undefined && metrics) {
    try {
      if (opts.egress || opts.output === 'json') {
        let e = metrics.parseMetrics(body, opts.egress ? { keep: metrics.mayHoldEgress } : {});
        if (e.duplicates)
          warning = `pod ${r.namespace}/${r.pod}: ${e.duplicates} repeated series in its metrics; kept the first of each`;
        if (opts.egress) e = metrics.egressOnly(e);
        if (opts.obfuscate) e = metrics.obfuscateFamilies(e);
        if (opts.output === 'json') {
          families = e.families.map((f) => ({
            name: f.name,
            type: f.type,
            ...(f.help !== undefined ? { help: f.help } : {}),
            ...(f.unit !== undefined ? { unit: f.unit } : {}),
            samples: f.samples.map((s) => ({
              name: s.name,
              labels: s.labels,
              value: Number.isFinite(s.value) ? s.value : metrics.valueText(s),
            })),
          }));
        } else body = metrics.serializeMetrics(e);
      } else if (opts.obfuscate) {
        body = metrics.obfuscateText(body);
      }
    } catch (e) {
      error = `pod ${r.namespace}/${r.pod}: ${errorMessage(e)}`;
      body = undefined;
    }
  }
  if (opts.output === 'json') {
    const obj = {
      pod: r.pod,
      namespace: r.namespace,
      ...(r.container ? { container: r.container, port: r.port } : {}),
      ...(error ? { error } : { families }),
    };
    return {
      text: JSON.stringify(obj, null, 2).replace(/^/gm, '  '),
      ...(error ? { error } : {}),
      ...(warning ? { warning } : {}),
    };
  }
  const head = `#\n# POD ${r.pod} (${i + 1} of ${total})\n#\n`;
  const text = error
    ? `${head}# ERROR: ${error}\n`
    : `${head}${(body as string).endsWith('\n') || body === '' ? (body as string) : `${body}\n`}`;
  return { text, ...(error ? { error } : {}), ...(warning ? { warning } : {}) };
}
