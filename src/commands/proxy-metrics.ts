import { optString, type RawInput } from '../cli/context.js';
import { parseDuration, parsePositiveInt } from '../cli/duration.js';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode, UsageError, errorMessage } from '../errors.js';
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
  // Flag checks that need no kubeconfig come first, so usage errors never wait on the cluster.
  if (input.args[0] === undefined && input.opts.selector === undefined && input.opts.all !== true) {
    throw new UsageError('no pods chosen: give a TYPE/NAME target (e.g. po/client), -l SELECTOR, or --all');
  }
  validate(input, () => 'default');
  const client = await connect(input.opts, deps.env, { maxSockets: 8 });
  try {
    const opts = validate(input, () => client.namespace);
    const pods = await resolvePods(client, opts.selection);
    if (pods.length === 0) {
      throw new ClusterError(`no pods found for ${describeSelection(opts.selection)}`);
    }
    const results = await scrapePods(client, pods, {
      concurrency: opts.concurrency,
      deadlineMs: opts.timeoutMs,
      podTimeoutMs: opts.podTimeoutMs,
      signal: deps.signal,
    });
    const rendered = await transform(results, opts);
    deps.out.write(opts.output === 'json' ? `${JSON.stringify(rendered.json, null, 2)}\n` : rendered.text);
    const failed = rendered.failures;
    if (failed.length > 0) {
      const first = failed[0] as string;
      deps.err.write(
        `error: ${failed.length} of ${results.length} pods failed${opts.output === 'raw' ? ' (see the # ERROR lines)' : ''}: ${first}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}\n`,
      );
      if (opts.verbose) for (const f of failed.slice(1)) deps.err.write(`  ${f}\n`);
      return ExitCode.Cluster;
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

interface Rendered {
  text: string;
  json: unknown[];
  failures: string[];
}

/** Applies --egress / --obfuscate per pod and renders linkerd's layout or JSON. */
async function transform(results: ScrapeResult[], opts: ProxyMetricsOptions): Promise<Rendered> {
  const needParse = opts.egress || opts.output === 'json';
  const metrics = needParse || opts.obfuscate ? await import('../metrics/index.js') : undefined;
  const failures: string[] = [];
  const parts: string[] = [];
  const json: unknown[] = [];
  results.forEach((r, i) => {
    let body = r.body;
    let error = r.error;
    let families: unknown;
    if (body !== undefined && metrics) {
      try {
        if (needParse) {
          let e = metrics.parseMetrics(body, opts.egress ? { keep: metrics.mayHoldEgress } : {});
          if (opts.egress) e = metrics.egressOnly(e);
          if (opts.obfuscate) e = metrics.obfuscateFamilies(e);
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
          body = metrics.serializeMetrics(e);
        } else if (opts.obfuscate) {
          body = metrics.obfuscateText(body);
        }
      } catch (e) {
        error = `pod ${r.namespace}/${r.pod}: ${errorMessage(e)}`;
        body = undefined;
      }
    }
    if (error) failures.push(error);
    parts.push(`#\n# POD ${r.pod} (${i + 1} of ${results.length})\n#\n`);
    parts.push(
      error ? `# ERROR: ${error}\n` : (body as string).endsWith('\n') ? (body as string) : `${body}\n`,
    );
    json.push({
      pod: r.pod,
      namespace: r.namespace,
      ...(r.container ? { container: r.container, port: r.port } : {}),
      ...(error ? { error } : { families }),
    });
  });
  return { text: parts.join(''), json, failures };
}
