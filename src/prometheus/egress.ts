import { setMaxListeners } from 'node:events';
import { EgressModel, groupRows, sortRows, type EgressRow, type GroupBy } from '../metrics/egress.js';
import { toLedger, type EgressLedger, type WorkloadRef } from '../metrics/ledger.js';
import type { Exposition, MetricFamily } from '../metrics/parse.js';
import {
  toStatReport,
  toStatWindow,
  type StatReport,
  type StatSample,
  type TaggedRow,
} from '../metrics/stat.js';
import { instantQuery, type Endpoint, type VectorSample } from './client.js';
import {
  FAMILIES,
  familyQuery,
  hostnamesOffQuery,
  ownerOf,
  ownersQuery,
  podCountsQuery,
  podsQuery,
  proxiesQuery,
  WORKLOAD,
  type FamilyQuery,
  type PromScope,
} from './queries.js';

/**
 * The Prometheus source of the egress view: a fixed handful of aggregated queries (queries.ts), all
 * evaluated at one instant, turned into the same EgressRow/Counts the pods source builds from the
 * proxies' /metrics, so `toStatReport` and every renderer are shared.
 */

export interface PromQueryOptions {
  scope: PromScope;
  /** `--since`: increase() over this many seconds; undefined: the bare counters (totals). */
  windowSeconds?: number | undefined;
  /** The grain (default `host`); rows per pod or workload come from `queryPodSample`. */
  by?: Exclude<GroupBy, 'pod'> | undefined;
  /** Evaluation time (ms since the epoch), the same for every query. */
  at: number;
  signal?: AbortSignal | undefined;
  /** Deadline for each query. */
  deadlineMs: number;
  onWarning?: (warning: string) => void;
  /** Rows list pod names up to this many (row, pod) pairs, counts above (default POD_NAMES_LIMIT). */
  podNamesLimit?: number;
}

/** What learn, plan and stat read: the model's rows, as the pods source would build them. */
export interface PromEgress {
  /** Rows of all pods, merged and sorted (not grouped). */
  rows: EgressRow[];
  /** `namespace/pod` of pods with hostname labels off, sorted. */
  hostnamesOff: string[];
  /** Proxies Prometheus sees in the scope. */
  proxies: number;
  /** The evaluation time (ms since the epoch). */
  at: number;
  windowSeconds: number | undefined;
  /** How many queries were sent (the same for any number of pods). */
  queries: number;
  /**
   * When more than POD_NAMES_LIMIT (row, pod) pairs: rows carry no pod names, and this maps each
   * row's grainKey (at `by`) to its number of pods.
   */
  podCounts: Map<string, number> | undefined;
  by: Exclude<GroupBy, 'pod'>;
}

/**
 * Above this many (row, pod) pairs, rows get a count of pods instead of their names: the names are one
 * series per pair (6 MB of JSON and 3 s for 2,000 pods), the counts one per row.
 */
export const POD_NAMES_LIMIT = 1000;

/** A row's identity at a grain, as groupRows merges rows (`metrics/egress.ts`). */
export function grainKey(r: EgressRow, by: GroupBy): string {
  return [
    r.network ? `${r.network.namespace}/${r.network.name}` : '',
    r.port,
    r.protocol,
    ...(by === 'network' ? [] : [r.route.kind, r.route.namespace, r.route.name]),
    ...(by === 'host' ? [r.destination] : []),
  ].join('\u0000');
}

// The model needs a pod name for each row; rows from `sum by` without `pod` get this one, then the
// pods query gives each row its real pods.
const ALL = '\u0000all';

function exposition(families: { family: string; samples: VectorSample[]; series: string }[]): Exposition {
  return {
    eof: true,
    families: families.map((f): MetricFamily => ({
      name: f.family,
      type: 'counter',
      header: [],
      samples: f.samples.map((s) => ({ name: f.series, labels: s.metric, value: s.value })),
    })),
  };
}

const podOf = (m: Record<string, string>) => `${m.namespace ?? ''}/${m.pod ?? ''}`;

function byPod<T>(items: T[], metric: (t: T) => Record<string, string>): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) {
    const k = podOf(metric(x));
    let l = out.get(k);
    if (!l) out.set(k, (l = []));
    l.push(x);
  }
  return out;
}

/** In a window, rows whose counters did not move (frozen after a policy change) are not traffic. */
const moved = (r: EgressRow) => r.counts.requests > 0 || r.counts.opened > 0;

/** Runs `fn` with one signal for its concurrent queries (each listens on it), tied to `outer`. */
async function withSignal<T>(outer: AbortSignal | undefined, fn: (s: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  setMaxListeners(64, ac.signal);
  const abort = () => ac.abort();
  if (outer?.aborted) ac.abort();
  outer?.addEventListener('abort', abort, { once: true });
  try {
    return await fn(ac.signal);
  } finally {
    outer?.removeEventListener('abort', abort);
  }
}

function querier(e: Endpoint, o: PromQueryOptions, signal: AbortSignal) {
  return (query: string, purpose: string) =>
    instantQuery(e, query, {
      purpose,
      time: o.at / 1000,
      signal,
      deadlineMs: o.deadlineMs,
      onWarning: o.onWarning,
    });
}

/** One query per family, concurrently: each family's samples, for `exposition`. */
function readFamilies(
  q: ReturnType<typeof querier>,
  families: FamilyQuery[],
  scope: PromScope,
  w: { windowSeconds: number | undefined; perPod: boolean; workload?: boolean },
) {
  return Promise.all(
    families.map(async (f) => ({ ...f, samples: await q(familyQuery(f, scope, w), f.purpose) })),
  );
}

/** Rows at a grain of network, route or host: one series per row and family, whatever the pods. */
export async function queryEgress(e: Endpoint, o: PromQueryOptions): Promise<PromEgress> {
  return withSignal(o.signal, (signal) => run(e, o, signal));
}

async function run(e: Endpoint, o: PromQueryOptions, signal: AbortSignal): Promise<PromEgress> {
  const q = querier(e, o, signal);
  const w = { windowSeconds: o.windowSeconds, perPod: false };
  const by = o.by ?? 'host';
  const [families, counted, off, proxies] = await Promise.all([
    readFamilies(q, FAMILIES, o.scope, w),
    q(podCountsQuery(o.scope, { ...w, by }), 'the pods per row'),
    q(hostnamesOffQuery(o.scope), 'pods with hostname labels off'),
    q(proxiesQuery(o.scope), 'the number of proxies'),
  ]);
  const pairs = counted.reduce((n, s) => n + s.value, 0);
  const names = pairs <= (o.podNamesLimit ?? POD_NAMES_LIMIT);
  const pods = names ? await q(podsQuery(o.scope, w), 'the pods behind each row') : [];
  const queries = FAMILIES.length + 3 + (names ? 1 : 0);
  const hostnamesOff = off.map((s) => podOf(s.metric)).sort();

  const counts = new EgressModel();
  counts.add(ALL, exposition(families));
  // The same model over the pods query gives each row key its pods (its counts are not used).
  const members = new EgressModel();
  for (const [pod, samples] of byPod(pods, (s) => s.metric)) {
    const fams = byFamily(samples);
    members.add(pod, exposition(fams));
  }
  const rows: EgressRow[] = [];
  for (const [key, r] of counts.rows) {
    if (o.windowSeconds && !moved(r)) continue;
    r.pods = new Set(members.rows.get(key)?.pods ?? []);
    rows.push(r);
  }
  let podCounts: Map<string, number> | undefined;
  if (!names) {
    // The count query's series, read by the same model: each gives a row at the grain, its count as
    // the row's requests (HTTP, gRPC) or opened connections (TLS, TCP).
    const m = new EgressModel();
    m.add(ALL, exposition(byFamily(counted, true)));
    podCounts = new Map();
    for (const r of m.rows.values()) {
      const k = grainKey(r, by);
      podCounts.set(k, (podCounts.get(k) ?? 0) + r.counts.requests + r.counts.opened);
    }
  }
  return {
    hostnamesOff,
    proxies: proxies[0]?.value ?? 0,
    at: o.at,
    windowSeconds: o.windowSeconds,
    by,
    queries,
    rows: sortRows(rows),
    podCounts,
  };
}

/** Each pod's egress families from Prometheus, as one scrape of every pod would give them. */
export interface PromPodSample {
  /**
   * The pods' families: their counters (totals since each proxy started) or, with a window, each
   * series' increase() over it, for `toStatWindow(undefined, sample, by, { windowSeconds })`.
   */
  sample: StatSample;
  /** `namespace/pod` → its workload, from viz's owner labels (when `owners` was asked). */
  workloads: Map<string, WorkloadRef>;
  windowSeconds: number | undefined;
  queries: number;
}

/**
 * What `--by pod`, `--by workload` and the ledger read: the families summed by the row labels AND the
 * pod (`namespace, pod` join the `sum by`), so one series per (row, pod), still one query per family;
 * with `owners`, one more gives each pod's workload.
 */
export async function queryPodSample(
  e: Endpoint,
  o: Omit<PromQueryOptions, 'by' | 'podNamesLimit'> & {
    owners: boolean;
    /**
     * false: no latency buckets (a ledger has no latency): the largest family by far, one series per
     * bucket, row and pod, left unread.
     */
    latency: boolean;
  },
): Promise<PromPodSample> {
  return withSignal(o.signal, async (signal) => {
    const q = querier(e, o, signal);
    const w = { windowSeconds: o.windowSeconds, perPod: true };
    const read = FAMILIES.filter((f) => o.latency || f.part !== 'duration');
    const [families, proxies, owners] = await Promise.all([
      readFamilies(q, read, o.scope, w),
      q(proxiesQuery(o.scope), 'the number of proxies'),
      o.owners ? q(ownersQuery(o.scope), "the pods' workloads") : Promise.resolve([]),
    ]);
    const grouped = new Map<string, { family: string; series: string; samples: VectorSample[] }[]>();
    for (const f of families)
      for (const [pod, samples] of byPod(f.samples, (s) => s.metric)) {
        let l = grouped.get(pod);
        if (!l) grouped.set(pod, (l = []));
        l.push({ family: f.family, series: f.series, samples });
      }
    const expositions = new Map<string, Exposition>();
    for (const [pod, fams] of grouped) expositions.set(pod, exposition(fams));
    return {
      sample: { at: o.at, expositions, failed: [], scraped: proxies[0]?.value ?? 0, unmeshed: [] },
      workloads: new Map(owners.map((s) => [podOf(s.metric), ownerOf(s.metric)])),
      windowSeconds: o.windowSeconds,
      queries: read.length + 1 + (o.owners ? 1 : 0),
    };
  });
}

function byFamily(
  samples: VectorSample[],
  keepValues = false,
): { family: string; series: string; samples: VectorSample[] }[] {
  const out = new Map<string, VectorSample[]>();
  for (const s of samples) {
    const f = s.metric.egressctl_family ?? '';
    let l = out.get(f);
    if (!l) out.set(f, (l = []));
    l.push({ metric: s.metric, value: keepValues ? s.value : 0 });
  }
  return [...out].map(([family, samples]) => ({ family, series: family, samples }));
}

/** Where a Prometheus report's numbers come from, as the StatReport records it. */
export function promSource(
  server: string,
  at: number,
  windowSeconds: number | undefined,
): NonNullable<StatReport['source']> {
  return {
    type: 'prometheus',
    server,
    time: new Date(at).toISOString(),
    ...(windowSeconds ? { since: windowSeconds } : {}),
  };
}

/** The StatReport of `egress stat --source prometheus` at a grain of network, route or host. */
export function toPromStatReport(p: PromEgress, by: Exclude<GroupBy, 'pod'>, server: string): StatReport {
  const rows = sortRows(groupRows(p.rows, by));
  const r = toStatReport(rows, {
    seconds: p.windowSeconds,
    groupBy: by,
    scraped: p.proxies,
    failed: [],
    hostnamesOff: p.hostnamesOff,
  });
  const counts = p.podCounts;
  if (counts) {
    // toStatReport keeps the rows' order, split into captured and uncaptured.
    const json = [...r.rows, ...r.uncaptured];
    const ordered = [...rows.filter((x) => x.network), ...rows.filter((x) => !x.network)];
    ordered.forEach((x, i) => {
      const j = json[i];
      if (j) j.podCount = counts.get(grainKey(x, by)) ?? 0;
    });
  }
  return { ...r, source: promSource(server, p.at, p.windowSeconds) };
}

/** One call for stat at a grain of network, route or host: query, model, report. */
export async function fetchStatFromPrometheus(
  e: Endpoint,
  o: PromQueryOptions & { by: Exclude<GroupBy, 'pod'> },
): Promise<StatReport> {
  const p = await queryEgress(e, o);
  return toPromStatReport(p, o.by, e.name);
}

/**
 * A StatReport grouped by pod or workload from Prometheus: `queryPodSample` read by `toStatWindow`,
 * the pods source's own grouping, with the window's increase() as its rate window.
 */
export function podSampleReport(p: PromPodSample, by: 'pod' | 'workload', server: string): StatReport {
  const r = toStatWindow(undefined, p.sample, by, {
    windowSeconds: p.windowSeconds,
    ...(by === 'workload' ? { workloads: p.workloads } : {}),
  });
  return { ...r, source: promSource(server, p.sample.at, p.windowSeconds) };
}

/**
 * The ledger of the flows Prometheus saw: the pods source's (`toLedger` over a report by pod), with the
 * workloads from viz's owner labels, over `--since` (or totals since each proxy started).
 */
export function podSampleLedger(p: PromPodSample, server: string): EgressLedger {
  const byPod = toStatWindow(undefined, p.sample, 'pod', { windowSeconds: p.windowSeconds });
  const at = p.sample.at;
  return toLedger(byPod, {
    workloads: p.workloads,
    source: { kind: 'prometheus', url: server },
    start: p.windowSeconds ? at - p.windowSeconds * 1000 : undefined,
    end: at,
  });
}

/**
 * `--by workload` over more than `podNamesLimit` proxies: the families summed by the row labels and
 * each series' workload (`withWorkload` folds viz's owner labels into one), so one series per row and
 * workload instead of per pod; rows carry `podCount` (one `count by` more) instead of pod names.
 */
export async function queryWorkloadReport(e: Endpoint, o: PromQueryOptions): Promise<StatReport> {
  return withSignal(o.signal, async (signal) => {
    const q = querier(e, o, signal);
    const w = { windowSeconds: o.windowSeconds, perPod: false, workload: true };
    const [families, counted, off, proxies] = await Promise.all([
      readFamilies(q, FAMILIES, o.scope, w),
      q(podCountsQuery(o.scope, { ...w, by: 'host' }), 'the pods per row and workload'),
      q(hostnamesOffQuery(o.scope), 'pods with hostname labels off'),
      q(proxiesQuery(o.scope), 'the number of proxies'),
    ]);
    const groupOf = (m: Record<string, string>) => `${m.namespace ?? ''}\u0000${m[WORKLOAD] ?? ''}`;
    const grouped = new Map<string, { family: string; series: string; samples: VectorSample[] }[]>();
    for (const f of families) {
      const by = new Map<string, VectorSample[]>();
      for (const s of f.samples) {
        const k = groupOf(s.metric);
        let l = by.get(k);
        if (!l) by.set(k, (l = []));
        l.push(s);
      }
      for (const [k, samples] of by) {
        let l = grouped.get(k);
        if (!l) grouped.set(k, (l = []));
        l.push({ family: f.family, series: f.series, samples });
      }
    }
    // Pods per (workload, row), read by the same model as the rows: a count is its requests or opens.
    const podCounts = new Map<string, number>();
    const countsBy = new Map<string, VectorSample[]>();
    for (const s of counted) {
      const k = groupOf(s.metric);
      let l = countsBy.get(k);
      if (!l) countsBy.set(k, (l = []));
      l.push(s);
    }
    for (const [k, samples] of countsBy) {
      const m = new EgressModel();
      m.add(ALL, exposition(byFamily(samples, true)));
      for (const r of m.rows.values()) {
        const key = `${k}\u0000${grainKey(r, 'host')}`;
        podCounts.set(key, (podCounts.get(key) ?? 0) + r.counts.requests + r.counts.opened);
      }
    }
    const tagged: TaggedRow[] = [];
    for (const [k, fams] of grouped) {
      const [namespace = '', workload = ''] = k.split('\u0000');
      const slash = workload.indexOf('/');
      const ref = { namespace, kind: workload.slice(0, slash), name: workload.slice(slash + 1) };
      const m = new EgressModel();
      m.add(ALL, exposition(fams));
      for (const r of m.rows.values()) {
        if (o.windowSeconds && !moved(r)) continue;
        r.pods = new Set();
        tagged.push({ row: r, workload: ref });
      }
    }
    const report = toStatReport(tagged, {
      seconds: o.windowSeconds,
      groupBy: 'workload',
      scraped: proxies[0]?.value ?? 0,
      failed: [],
      hostnamesOff: off.map((s) => podOf(s.metric)).sort(),
    });
    for (const j of [...report.rows, ...report.uncaptured]) {
      const row = [
        j.network ? `${j.network.namespace}/${j.network.name}` : '',
        j.port === null ? '' : String(j.port),
        j.protocol,
        j.route.kind,
        j.route.namespace,
        j.route.name,
        j.destination,
      ].join('\u0000');
      const ref = j.workload;
      j.podCount =
        podCounts.get(`${ref?.namespace ?? ''}\u0000${ref?.kind ?? ''}/${ref?.name ?? ''}\u0000${row}`) ?? 0;
    }
    return { ...report, source: promSource(e.name, o.at, o.windowSeconds) };
  });
}

/** How many proxies Prometheus sees in the scope: one small query, to choose how to read the rest. */
export async function countProxies(e: Endpoint, o: PromQueryOptions): Promise<number> {
  return withSignal(o.signal, async (signal) => {
    const [s] = await querier(e, o, signal)(proxiesQuery(o.scope), 'the number of proxies');
    return s?.value ?? 0;
  });
}
