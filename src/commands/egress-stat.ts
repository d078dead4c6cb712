import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { optString, type RawInput } from '../cli/context.js';
import { parseDuration, parsePositiveInt } from '../cli/duration.js';
import { useColor, type Deps } from '../deps.js';
import { ClusterError, ExitCode, UsageError, errorMessage } from '../errors.js';
import { resolvePods, describeSelection, toSelection, type Selection } from '../kube/resolve.js';
import { connect, type KubeClient } from '../kube/rest.js';
import { scrapePods } from '../kube/scrape.js';
import {
  EgressModel,
  deltaExposition,
  groupRows,
  isEgressFamily,
  mergeModels,
  sortRows,
  type GroupBy,
} from '../metrics/egress.js';
import { detachExposition, newInterner } from '../metrics/detach.js';
import { parseMetrics, type Exposition } from '../metrics/parse.js';
import { renderStatTable, toStatReport, type StatReport } from '../render/stat.js';

interface StatOptions {
  selection: (ns: string) => Selection;
  output: 'table' | 'wide' | 'json' | 'yaml';
  by: GroupBy;
  intervalMs: number;
  watch: boolean;
  failOnDeny: boolean;
  concurrency: number;
  timeoutMs: number;
  podTimeoutMs: number;
}

/** Checks every flag before the cluster is contacted. */
export function validate(input: RawInput): StatOptions {
  const o = input.opts;
  const all = o.allNamespaces === true;
  if (all && typeof o.namespace === 'string')
    throw new UsageError('-A and -n are exclusive: choose all namespaces or one');
  const watch = o.watch === true;
  let intervalMs = parseDuration(optString(o, 'interval', '0'), '--interval');
  if (watch && intervalMs === 0) intervalMs = 10_000;
  if (intervalMs > 0 && intervalMs < 1000)
    throw new UsageError(`--interval ${optString(o, 'interval', '')} is too short: use 1s or more`);
  const target = input.args[0];
  // With no target, selector or --all, stat looks at every pod of the namespace.
  const chosen = target !== undefined || typeof o.selector === 'string' || o.all === true;
  const sel = (ns: string) => toSelection(target, chosen ? o : { ...o, all: true }, all ? undefined : ns);
  sel('default'); // flag errors now
  return {
    selection: sel,
    output: optString(o, 'output', 'table') as StatOptions['output'],
    by: optString(o, 'by', 'host') as GroupBy,
    intervalMs,
    watch,
    failOnDeny: o.failOnDeny === true,
    concurrency: parsePositiveInt(optString(o, 'maxConcurrency', '16'), '--max-concurrency', 256),
    timeoutMs: parseDuration(optString(o, 'timeout', '30s'), '--timeout'),
    podTimeoutMs: parseDuration(optString(o, 'podTimeout', '10s'), '--pod-timeout'),
  };
}

interface Round {
  at: number;
  /** `namespace/pod` → its egress families. */
  expositions: Map<string, Exposition>;
  failed: { namespace: string; pod: string; error: string }[];
  scraped: number;
}

async function scrapeRound(
  client: KubeClient,
  selection: Selection,
  o: StatOptions,
  deps: Deps,
): Promise<Round> {
  const pods = await resolvePods(client, selection);
  if (pods.length === 0) throw new ClusterError(`no pods found for ${describeSelection(selection)}`);
  const expositions = new Map<string, Exposition>();
  // One pool per round: the strings of the series every pod shares are kept once.
  const pool = newInterner();
  const failed: Round['failed'] = [];
  const at = deps.now();
  await scrapePods(client, pods, {
    concurrency: o.concurrency,
    deadlineMs: o.timeoutMs,
    podTimeoutMs: o.podTimeoutMs,
    signal: deps.signal,
    onResult: (_i, _n, r) => {
      const id = `${r.namespace}/${r.pod}`;
      if (r.body === undefined) {
        failed.push({ namespace: r.namespace, pod: r.pod, error: r.error ?? 'no body' });
        return;
      }
      try {
        // Detached, so this pod's body is freed now rather than kept alive by the slices of it that the
        // round keeps (all bodies of two rounds, with --interval or --watch).
        expositions.set(id, detachExposition(parseMetrics(r.body, { keep: isEgressFamily }), pool));
      } catch (e) {
        failed.push({ namespace: r.namespace, pod: r.pod, error: `pod ${id}: ${errorMessage(e)}` });
      }
      r.body = undefined;
    },
  });
  return { at, expositions, failed, scraped: pods.length };
}

/** Rows for one window: totals of `curr`, or deltas from `prev`. */
function report(prev: Round | undefined, curr: Round, o: StatOptions): StatReport {
  const perPod = new Map<string, ReturnType<typeof mergeModels>>();
  const models: EgressModel[] = [];
  const hostnamesOff = new Set<string>();
  for (const [pod, e] of curr.expositions) {
    const m = new EgressModel();
    m.add(pod, prev ? deltaExposition(prev.expositions.get(pod), e) : e);
    // In a rate window, series that did not move (frozen after a policy change) are not traffic.
    if (prev)
      for (const [k, r] of m.rows) if (r.counts.requests === 0 && r.counts.opened === 0) m.rows.delete(k);
    for (const p of m.hostnamesOff) hostnamesOff.add(p);
    models.push(m);
    if (o.by === 'pod') perPod.set(pod, mergeModels([m]));
  }
  const rows = sortRows(groupRows(mergeModels(models), o.by, perPod));
  const seconds = prev ? Math.max(0.001, (curr.at - prev.at) / 1000) : undefined;
  return toStatReport(rows, {
    seconds,
    groupBy: o.by,
    scraped: curr.scraped,
    failed: curr.failed,
    hostnamesOff: [...hostnamesOff].sort(),
  });
}

function renderReport(r: StatReport, o: StatOptions, deps: Deps): string {
  if (o.output === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (o.output === 'yaml') return stringify(r);
  let text = renderStatTable(r, { wide: o.output === 'wide', color: useColor(deps) });
  for (const n of r.notices) text += `note: ${n}\n`;
  return text;
}

export async function run(input: RawInput, deps: Deps): Promise<number> {
  const o = validate(input);
  const client = await connect(input.opts, deps.env);
  try {
    const selection = o.selection(client.namespace);
    let prev: Round | undefined;
    let curr = await scrapeRound(client, selection, o, deps);
    if (o.intervalMs > 0) {
      prev = curr;
      if (!(await wait(o.intervalMs, deps))) return ExitCode.Ok;
      curr = await scrapeRound(client, selection, o, deps);
    }
    let r = report(prev, curr, o);
    if (!o.watch) return finish(r, o, deps);
    // --watch: redraw every interval until Ctrl-C.
    for (;;) {
      deps.out.write(`${deps.stdoutIsTTY ? '\x1b[H\x1b[2J' : ''}${renderReport(r, o, deps)}`);
      for (const f of r.pods.failed) deps.err.write(`warning: ${f.error}\n`);
      if (!(await wait(o.intervalMs, deps))) return ExitCode.Ok;
      prev = curr;
      curr = await scrapeRound(client, selection, o, deps);
      r = report(prev, curr, o);
    }
  } finally {
    client.close();
  }
}

/** Sleeps unless interrupted; false when Ctrl-C came. */
async function wait(ms: number, deps: Deps): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: deps.signal });
    return true;
  } catch {
    return false;
  }
}

function finish(r: StatReport, o: StatOptions, deps: Deps): number {
  deps.out.write(renderReport(r, o, deps));
  if (r.pods.failed.length) {
    const first = r.pods.failed[0];
    deps.err.write(
      `error: ${r.pods.failed.length} of ${r.pods.scraped} pods could not be read, so these numbers are partial: ${first?.error ?? ''}${r.pods.failed.length > 1 ? ` (and ${r.pods.failed.length - 1} more)` : ''}\n`,
    );
    return ExitCode.Cluster;
  }
  if (o.failOnDeny && r.totals.denied > 0) {
    const where = [...r.rows, ...r.uncaptured]
      .filter((x) => x.denied > 0)
      .map((x) => `${x.destination || '?'} (${x.route.name})`);
    deps.err.write(
      `denied egress seen${r.window.mode === 'rate' ? ` in the last ${r.window.seconds}s` : ''}: ${r.totals.denied} to ${where.join(', ')}\n`,
    );
    return ExitCode.Findings;
  }
  return ExitCode.Ok;
}
