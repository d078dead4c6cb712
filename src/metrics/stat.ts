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
}

export interface StatReport {
  apiVersion: 'egressctl.linkerd.io/v1';
  kind: 'EgressStat';
  schemaVersion: 1;
  window: { mode: 'total' } | { mode: 'rate'; seconds: number };
  groupBy: GroupBy;
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

function toRowJson(r: EgressRow, seconds: number | undefined): StatRowJson {
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
    pods: [...r.pods].sort(),
  };
}

/** Builds the report every output format renders. */
export function toStatReport(
  rows: EgressRow[],
  o: {
    seconds: number | undefined;
    groupBy: GroupBy;
    scraped: number;
    failed: { namespace: string; pod: string; error: string }[];
    hostnamesOff: string[];
    unmeshed?: string[];
  },
): StatReport {
  const unmeshed = o.unmeshed ?? [];
  const all = rows.map((r) => toRowJson(r, o.seconds));
  const notices: string[] = [];
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
 * between the two samples, as a rate per second.
 */
export function toStatWindow(prev: StatSample | undefined, curr: StatSample, by: GroupBy): StatReport {
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
    if (by === 'pod') perPod.set(pod, mergeModels([m]));
  }
  const rows = sortRows(groupRows(mergeModels(models), by, perPod));
  const seconds = prev ? Math.max(0.001, (curr.at - prev.at) / 1000) : undefined;
  return toStatReport(rows, {
    seconds,
    groupBy: by,
    scraped: curr.scraped,
    failed: curr.failed,
    hostnamesOff: [...hostnamesOff].sort(),
    unmeshed: curr.unmeshed ?? [],
  });
}
