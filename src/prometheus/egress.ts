import { setMaxListeners } from 'node:events';
import {
  EgressModel,
  groupRows,
  mergeModels,
  sortRows,
  type EgressRow,
  type GroupBy,
} from '../metrics/egress.js';
import type { Exposition, MetricFamily } from '../metrics/parse.js';
import { toStatReport, type StatReport } from '../metrics/stat.js';
import { instantQuery, type Endpoint, type VectorSample } from './client.js';
import {
  FAMILIES,
  familyQuery,
  hostnamesOffQuery,
  podCountsQuery,
  podsQuery,
  proxiesQuery,
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
  /** The grain: `pod` makes rows per pod (`namespace, pod` join the `sum by`); default `host`. */
  by?: GroupBy | undefined;
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
  /** With `perPod`: `namespace/pod` → that pod's rows. */
  perPod: Map<string, EgressRow[]> | undefined;
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
  by: GroupBy;
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

export async function queryEgress(e: Endpoint, o: PromQueryOptions): Promise<PromEgress> {
  const time = o.at / 1000;
  const perPod = o.by === 'pod';
  // One signal for the concurrent queries, each of which listens on it.
  const ac = new AbortController();
  setMaxListeners(64, ac.signal);
  const abort = () => ac.abort();
  if (o.signal?.aborted) ac.abort();
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await run(e, o, time, perPod, ac.signal);
  } finally {
    o.signal?.removeEventListener('abort', abort);
  }
}

async function run(
  e: Endpoint,
  o: PromQueryOptions,
  time: number,
  perPod: boolean,
  signal: AbortSignal,
): Promise<PromEgress> {
  const q = (query: string, purpose: string) =>
    instantQuery(e, query, {
      purpose,
      time,
      signal,
      deadlineMs: o.deadlineMs,
      onWarning: o.onWarning,
    });
  const w = { windowSeconds: o.windowSeconds, perPod };
  const by = o.by ?? 'host';
  const grain = by === 'pod' ? 'host' : by;
  const [families, counted, off, proxies] = await Promise.all([
    Promise.all(
      FAMILIES.map(async (f) => ({ ...f, samples: await q(familyQuery(f, o.scope, w), f.purpose) })),
    ),
    perPod ? Promise.resolve([]) : q(podCountsQuery(o.scope, { ...w, by: grain }), 'the pods per row'),
    q(hostnamesOffQuery(o.scope), 'pods with hostname labels off'),
    q(proxiesQuery(o.scope), 'the number of proxies'),
  ]);
  const pairs = counted.reduce((n, s) => n + s.value, 0);
  const names = !perPod && pairs <= (o.podNamesLimit ?? POD_NAMES_LIMIT);
  const pods = names ? await q(podsQuery(o.scope, w), 'the pods behind each row') : [];
  const queries = FAMILIES.length + (perPod ? 0 : 1) + 2 + (names ? 1 : 0);
  const hostnamesOff = off.map((s) => podOf(s.metric)).sort();
  const common = {
    hostnamesOff,
    proxies: proxies[0]?.value ?? 0,
    at: o.at,
    windowSeconds: o.windowSeconds,
    by,
  };

  if (perPod) {
    const grouped = new Map<string, { family: string; series: string; samples: VectorSample[] }[]>();
    for (const f of families)
      for (const [pod, samples] of byPod(f.samples, (s) => s.metric)) {
        let l = grouped.get(pod);
        if (!l) grouped.set(pod, (l = []));
        l.push({ family: f.family, series: f.series, samples });
      }
    const models: EgressModel[] = [];
    const perPodRows = new Map<string, EgressRow[]>();
    // In the pods source's order (resolvePods: namespace, then name), which --by pod rows keep.
    const order = [...grouped].sort(([a], [b]) => {
      const [an = '', ap = ''] = a.split('/');
      const [bn = '', bp = ''] = b.split('/');
      return an.localeCompare(bn) || ap.localeCompare(bp);
    });
    for (const [pod, fams] of order) {
      const m = new EgressModel();
      m.add(pod, exposition(fams));
      if (o.windowSeconds) for (const [k, r] of m.rows) if (!moved(r)) m.rows.delete(k);
      models.push(m);
      perPodRows.set(pod, mergeModels([m]));
    }
    return { ...common, queries, rows: mergeModels(models), perPod: perPodRows, podCounts: undefined };
  }

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
      const k = grainKey(r, grain);
      podCounts.set(k, (podCounts.get(k) ?? 0) + r.counts.requests + r.counts.opened);
    }
  }
  return { ...common, queries, rows: sortRows(rows), perPod: undefined, podCounts };
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

/** The StatReport of `egress stat --source prometheus`, with the source and window recorded. */
export function toPromStatReport(p: PromEgress, by: GroupBy, server: string): StatReport {
  const rows = sortRows(groupRows(p.rows, by, p.perPod));
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
  return {
    ...r,
    source: {
      type: 'prometheus',
      server,
      time: new Date(p.at).toISOString(),
      ...(p.windowSeconds ? { since: p.windowSeconds } : {}),
    },
  };
}

/** One call for stat, learn and plan: query, model, report. */
export async function fetchStatFromPrometheus(
  e: Endpoint,
  o: PromQueryOptions & { by: GroupBy },
): Promise<StatReport> {
  const p = await queryEgress(e, o);
  return toPromStatReport(p, o.by, e.name);
}
