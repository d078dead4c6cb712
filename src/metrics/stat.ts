import {
  EgressModel,
  deltaExposition,
  groupRows,
  mergeModels,
  quantile,
  sortRows,
  verdictOf,
  type EgressRow,
  type GroupBy,
  type Verdict,
} from './egress.js';
import type { Exposition } from './parse.js';

/**
 * The `egress stat` report: rows grouped and rated over a window, totals and notices. Every output
 * format (render/stat.ts) renders this one model. Pure.
 */

/** One row of `egress stat -o json` (schemaVersion 1; documented in the README). */
export interface StatRowJson {
  network: { namespace: string; name: string } | null;
  port: number | null;
  protocol: 'http' | 'grpc' | 'tls' | 'tcp';
  route: { kind: string; namespace: string; name: string; default: boolean };
  destination: string;
  verdict: Verdict;
  redirectTo: string | null;
  requests: number;
  statuses: Record<string, number>;
  connections: { opened: number; closed: number; forbidden: number } | null;
  denied: number;
  failed: number;
  /** Per second over the window; null for totals. */
  rate: number | null;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  pods: string[];
  /**
   * How many pods sent on the row, when `pods` was not filled (the Prometheus source over more than
   * a thousand row-pod pairs lists counts, not names). Optional: schemaVersion 1 readers may ignore it.
   */
  podCount?: number;
  /** The row's pod, with `--by pod`. */
  pod?: { namespace: string; name: string };
  /** The row's workload (the pod's owner, as the ledger names it), with `--by workload`. */
  workload?: { namespace: string; kind: string; name: string };
  /**
   * The row's route (or, for a default route, its EgressNetwork) is no longer in the current policy: a
   * series frozen at a policy change. null when the current objects could not be read.
   */
  stale: boolean | null;
}

/** How `egress stat` groups rows: egress.ts's grains, and `workload` (the pods' owners). */
export type StatGroupBy = GroupBy | 'workload';

/** What a row is about, as one string: the key of its trend across --watch rounds. */
export const statRowKey = (x: StatRowJson): string =>
  JSON.stringify([
    x.network,
    x.port,
    x.protocol,
    x.route.kind,
    x.route.namespace,
    x.route.name,
    x.destination,
    x.pod ?? null,
    x.workload ?? null,
  ]);

/** Text order with digit runs compared as numbers: client, client-2, client-10. */
export const naturalCompare: (a: string, b: string) => number = new Intl.Collator('en', {
  numeric: true,
  sensitivity: 'variant',
}).compare;

export interface StatReport {
  apiVersion: 'egressctl.linkerd.io/v1';
  kind: 'EgressStat';
  schemaVersion: 1;
  window: { mode: 'total' } | { mode: 'rate'; seconds: number };
  groupBy: StatGroupBy;
  /**
   * `scraped`: pods read (or tried); `meshed` of `total` selected have a proxy, as linkerd viz's MESHED
   * column counts them; `unmeshed` (`namespace/name`) were not scraped and are not failures.
   */
  pods: {
    scraped: number;
    meshed: number;
    total: number;
    unmeshed: string[];
    failed: { namespace: string; pod: string; error: string }[];
  };
  notices: string[];
  rows: StatRowJson[];
  uncaptured: StatRowJson[];
  totals: { requests: number; connections: number; denied: number; failed: number; redirected: number };
  /**
   * Where the numbers come from, when not the pods' own /metrics (an optional field: schemaVersion 1
   * readers ignore it): the Prometheus server, the evaluation time, and `--since` in seconds.
   */
  source?: { type: 'prometheus'; server: string; time: string; since?: number };
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The current policy: its objects, as `Kind/namespace/name` (EgressNetworks and routes), and the
 * namespaces they were read from ('all', or a list): a row of another namespace cannot be judged.
 */
export interface LivePolicy {
  objects: Set<string>;
  namespaces: 'all' | string[];
}

function isStale(r: EgressRow, policy: LivePolicy | undefined): boolean | null {
  if (!policy) return null;
  const live = policy.objects;
  const ns = r.network?.namespace ?? r.route.namespace;
  if (policy.namespaces !== 'all' && !policy.namespaces.includes(ns)) return null;
  if (r.network && !live.has(`EgressNetwork/${r.network.namespace}/${r.network.name}`)) return true;
  if (r.route.default || r.route.kind === '*' || r.route.kind === 'default') return false;
  return !live.has(`${r.route.kind}/${r.route.namespace}/${r.route.name}`);
}

/** A tagged row: the pod or workload it belongs to, with --by pod|workload. */
export interface TaggedRow {
  row: EgressRow;
  pod?: { namespace: string; name: string };
  workload?: { namespace: string; kind: string; name: string };
}

function toRowJson(t: TaggedRow, seconds: number | undefined, live: LivePolicy | undefined): StatRowJson {
  const r = t.row;
  const c = r.counts;
  const isReq = r.protocol === 'http' || r.protocol === 'grpc';
  const volume = isReq ? c.requests : c.opened;
  const q = (p: number) => quantile(p, c.buckets);
  const p50 = q(0.5);
  return {
    network: r.network ? { namespace: r.network.namespace, name: r.network.name } : null,
    port: r.port === '' ? null : Number(r.port),
    protocol: r.protocol,
    route: { ...r.route },
    destination: r.destination,
    verdict: verdictOf(r),
    redirectTo: r.redirectTo ?? null,
    requests: isReq ? c.requests : 0,
    statuses: Object.fromEntries(Object.entries(c.statuses).sort(([a], [b]) => a.localeCompare(b))),
    connections: isReq ? null : { opened: c.opened, closed: c.closed, forbidden: c.forbidden },
    denied: c.denied,
    failed: c.failed,
    rate: seconds ? round(volume / seconds) : null,
    latencyMs:
      p50 === undefined
        ? null
        : {
            p50: round((p50 ?? 0) * 1000, 1),
            p95: round((q(0.95) ?? 0) * 1000, 1),
            p99: round((q(0.99) ?? 0) * 1000, 1),
          },
    pods: [...r.pods].sort(naturalCompare),
    ...(t.pod ? { pod: t.pod } : {}),
    ...(t.workload ? { workload: t.workload } : {}),
    stale: isStale(r, live),
  };
}

/** The order rows are shown in: network, port, protocol, named routes before defaults, then natural. */
function compareRows(a: StatRowJson, b: StatRowJson): number {
  const net = (x: StatRowJson) => (x.network ? `0${x.network.namespace}/${x.network.name}` : '1');
  return (
    naturalCompare(net(a), net(b)) ||
    (a.port ?? 0) - (b.port ?? 0) ||
    a.protocol.localeCompare(b.protocol) ||
    Number(a.route.default) - Number(b.route.default) ||
    naturalCompare(a.route.name, b.route.name) ||
    naturalCompare(a.destination, b.destination) ||
    naturalCompare(
      a.pod ? `${a.pod.namespace}/${a.pod.name}` : (a.workload?.name ?? ''),
      b.pod ? `${b.pod.namespace}/${b.pod.name}` : (b.workload?.name ?? ''),
    )
  );
}

/** Builds the report every output format renders. */
export function toStatReport(
  rows: (EgressRow | TaggedRow)[],
  o: {
    seconds: number | undefined;
    groupBy: StatGroupBy;
    /** The current policy; without it, `stale` is null. */
    live?: LivePolicy;
    scraped: number;
    failed: { namespace: string; pod: string; error: string }[];
    hostnamesOff: string[];
    unmeshed?: string[];
  },
): StatReport {
  const unmeshed = o.unmeshed ?? [];
  const all = rows.map((r) => toRowJson('row' in r ? r : { row: r }, o.seconds, o.live)).sort(compareRows);
  const notices: string[] = [];
  const stale = all.filter((r) => r.stale === true).length;
  if (stale)
    notices.push(
      `${stale} row(s) marked stale are of routes or networks no longer in the current policy: their counters stopped at the policy change`,
    );
  if (o.hostnamesOff.length) {
    notices.push(
      `hostname labels are off for ${o.hostnamesOff.length === 1 ? `pod ${o.hostnamesOff[0]}` : `${o.hostnamesOff.length} pods`}, so HTTP, gRPC and TLS destinations show as "?": ` +
        `add the annotation config.linkerd.io/proxy-metrics-hostname-labels: "true" to the pod template or namespace and restart the pods`,
    );
  }
  const totals = { requests: 0, connections: 0, denied: 0, failed: 0, redirected: 0 };
  for (const r of all) {
    totals.requests += r.requests;
    totals.connections += r.connections?.opened ?? 0;
    totals.denied += r.denied;
    totals.failed += r.failed;
    if (r.verdict === 'redirected') totals.redirected += r.requests;
  }
  return {
    apiVersion: 'egressctl.linkerd.io/v1',
    kind: 'EgressStat',
    schemaVersion: 1,
    window: o.seconds ? { mode: 'rate', seconds: o.seconds } : { mode: 'total' },
    groupBy: o.groupBy,
    pods: {
      scraped: o.scraped,
      meshed: o.scraped,
      total: o.scraped + unmeshed.length,
      unmeshed,
      failed: o.failed,
    },
    notices,
    rows: all.filter((r) => r.network !== null),
    uncaptured: all.filter((r) => r.network === null),
    totals,
  };
}

/** One scrape of the selected pods, as `egress stat` takes it. */
export interface StatSample {
  /** When the scrape started (ms since the epoch). */
  at: number;
  /** `namespace/pod` → its egress families. */
  expositions: Map<string, Exposition>;
  failed: { namespace: string; pod: string; error: string }[];
  scraped: number;
  /** Selected pods without a proxy (`namespace/name`), not scraped. */
  unmeshed?: string[];
}

/**
 * The report for one window: totals of `curr` since each proxy started, or, with `prev`, what moved
 * between the two samples, as a rate per second. `workloads` (`namespace/pod` → its owner) serves
 * `--by workload`; `live` marks stale rows.
 */
export function toStatWindow(
  prev: StatSample | undefined,
  curr: StatSample,
  by: StatGroupBy,
  o: {
    workloads?: Map<string, { kind: string; name: string }>;
    live?: LivePolicy;
    /**
     * Without `prev`: `curr` already holds this many seconds' increase (Prometheus' `increase()`),
     * so the report is a rate window over them, not totals.
     */
    windowSeconds?: number | undefined;
  } = {},
): StatReport {
  const windowed = prev !== undefined || o.windowSeconds !== undefined;
  const perPod = new Map<string, EgressModel>();
  const models: EgressModel[] = [];
  const hostnamesOff = new Set<string>();
  // Pods whose previous scrape failed have no baseline: their counters since the proxy started are not
  // this window's traffic (the fault soak saw them counted whole). They count again from the next window.
  const noBaseline = new Set(prev?.failed.map((f) => `${f.namespace}/${f.pod}`));
  for (const [pod, e] of curr.expositions) {
    if (prev && !prev.expositions.has(pod) && noBaseline.has(pod)) continue;
    const m = new EgressModel();
    m.add(pod, prev ? deltaExposition(prev.expositions.get(pod), e) : e);
    // In a rate window, series that did not move (frozen after a policy change) are not traffic.
    if (windowed)
      for (const [k, r] of m.rows) if (r.counts.requests === 0 && r.counts.opened === 0) m.rows.delete(k);
    for (const p of m.hostnamesOff) hostnamesOff.add(p);
    models.push(m);
    perPod.set(pod, m);
  }
  const split = (key: string): { namespace: string; name: string } => {
    const i = key.indexOf('/');
    return { namespace: key.slice(0, i), name: key.slice(i + 1) };
  };
  let rows: (EgressRow | TaggedRow)[];
  if (by === 'pod') {
    rows = [...perPod].flatMap(([pod, m]) => mergeModels([m]).map((row) => ({ row, pod: split(pod) })));
  } else if (by === 'workload') {
    const groups = new Map<
      string,
      { ref: { namespace: string; kind: string; name: string }; models: EgressModel[] }
    >();
    for (const [pod, m] of perPod) {
      const { namespace, name } = split(pod);
      const w = o.workloads?.get(pod) ?? { kind: 'pod', name };
      const key = `${namespace}/${w.kind}/${w.name}`;
      const g = groups.get(key) ?? { ref: { namespace, kind: w.kind, name: w.name }, models: [] };
      g.models.push(m);
      groups.set(key, g);
    }
    rows = [...groups.values()].flatMap((g) =>
      mergeModels(g.models).map((row) => ({ row, workload: g.ref })),
    );
  } else rows = sortRows(groupRows(mergeModels(models), by));
  const seconds = prev ? Math.max(0.001, (curr.at - prev.at) / 1000) : o.windowSeconds;
  return toStatReport(rows, {
    seconds,
    groupBy: by,
    ...(o.live ? { live: o.live } : {}),
    scraped: curr.scraped,
    failed: curr.failed,
    hostnamesOff: [...hostnamesOff].sort(),
    unmeshed: curr.unmeshed ?? [],
  });
}
