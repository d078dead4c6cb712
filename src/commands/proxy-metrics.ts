import { optString, type RawInput } from '../cli/context.js';
import { parseDuration, parsePositiveInt } from '../cli/duration.js';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode, errorMessage } from '../errors.js';
import { connect } from '../kube/rest.js';
import { describeSelection, resolvePods, toSelection, type Selection } from '../kube/resolve.js';
import { scrapePods, type ScrapeResult } from '../kube/scrape.js';

export interface ProxyMetricsOptions {
  selection: Selection;
  output: 'raw' | 'json';
  egress: boolean;
  obfuscate: boolean;
  concurrency: number;
  timeoutMs: number;
  podTimeoutMs: number;
  verbose: boolean;
}

/** Checks flags before anything touches the network. */
export function validate(input: RawInput, defaultNamespace: () => string): ProxyMetricsOptions {
  const o = input.opts;
  const output = o.output === 'json' ? 'json' : 'raw';
  const namespace = typeof o.namespace === 'string' ? o.namespace : defaultNamespace();
  return {
    selection: toSelection(input.args[0], o, namespace),
    output,
    egress: o.egress === true,
    obfuscate: o.obfuscate === true,
    concurrency: parsePositiveInt(optString(o, 'maxConcurrency', '16'), '--max-concurrency', 256),
    timeoutMs: parseDuration(optString(o, 'timeout', '30s'), '--timeout'),
    podTimeoutMs: parseDuration(optString(o, 'podTimeout', '10s'), '--pod-timeout'),
    verbose: o.verbose === true,
  };
}

export async function run(input: RawInput, deps: Deps): Promise<number> {
  // Flag checks first, with a stand-in namespace, so usage errors never wait on the kubeconfig or cluster.
  validate(input, () => 'default');
  const client = await connect(input.opts, deps.env, { maxSockets: 8 });
  try {
    const opts = validate(input, () => client.namespace);
    const pods = await resolvePods(client, opts.selection);
    if (pods.length === 0) {
      throw new ClusterError(`no pods found for ${describeSelection(opts.selection)}`);
    }
    const metrics =
      opts.egress || opts.obfuscate || opts.output === 'json'
        ? await import('../metrics/index.js')
        : undefined;
    // Results are written in pod order as soon as every earlier pod is done, and their bodies dropped,
    // so memory holds only the pods in flight (200 pods x 400 KB never sit in memory at once).
    const ready = new Map<number, ScrapeResult>();
    const failures: string[] = [];
    let next = 0;
    const emit = (index: number, total: number, r: ScrapeResult): void => {
      ready.set(index, r);
      while (ready.has(next)) {
        const item = ready.get(next) as ScrapeResult;
        ready.delete(next);
        const out = render(item, next, total, opts, metrics);
        item.body = undefined;
        if (out.error) failures.push(out.error);
        if (opts.output === 'json') deps.out.write(`${next === 0 ? '[\n' : ',\n'}${out.text}`);
        else deps.out.write(out.text);
        next++;
        if (next === total && opts.output === 'json') deps.out.write('\n]\n');
      }
    };
    const results = await scrapePods(client, pods, {
      concurrency: opts.concurrency,
      deadlineMs: opts.timeoutMs,
      podTimeoutMs: opts.podTimeoutMs,
      signal: deps.signal,
      onResult: emit,
    });
    if (failures.length > 0) {
      const first = failures[0] as string;
      deps.err.write(
        `error: ${failures.length} of ${results.length} pods failed${opts.output === 'raw' ? ' (see the # ERROR lines)' : ''}: ${first}${failures.length > 1 ? ` (and ${failures.length - 1} more)` : ''}\n`,
      );
      if (opts.verbose) for (const f of failures.slice(1)) deps.err.write(`  ${f}\n`);
      return ExitCode.Cluster;
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

type MetricsModule = typeof import('../metrics/index.js');

/** One result in linkerd's layout (or as a JSON array element), after --egress / --obfuscate. */
function render(
  r: ScrapeResult,
  i: number,
  total: number,
  opts: ProxyMetricsOptions,
  metrics: MetricsModule | undefined,
): { text: string; error?: string } {
  let body = r.body;
  let error = r.error;
  let families: unknown;
  if (body !== undefined && metrics) {
    try {
      if (opts.egress || opts.output === 'json') {
        let e = metrics.parseMetrics(body, opts.egress ? { keep: metrics.mayHoldEgress } : {});
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
    return { text: JSON.stringify(obj, null, 2).replace(/^/gm, '  '), ...(error ? { error } : {}) };
  }
  const head = `#\n# POD ${r.pod} (${i + 1} of ${total})\n#\n`;
  const text = error
    ? `${head}# ERROR: ${error}\n`
    : `${head}${(body as string).endsWith('\n') || body === '' ? (body as string) : `${body}\n`}`;
  return { text, ...(error ? { error } : {}) };
}
