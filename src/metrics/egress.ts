import type { Exposition, MetricFamily, Sample } from './parse.js';

/**
 * The egress model: parsed proxy metrics → rows that say which external destination was called through
 * which EgressNetwork and route, and what the policy did. Pure. The labels
 * are linkerd2-proxy's (`linkerd/app/outbound/src/metrics.rs`: parent_*, route_*, hostname, target_*).
 */

export type Protocol = 'http' | 'grpc' | 'tls' | 'tcp';
export type Verdict = 'allowed' | 'denied' | 'redirected' | 'failed' | 'mixed';

export interface NetworkRef {
  namespace: string;
  name: string;
  port: string;
}

export interface RouteRef {
  kind: string;
  namespace: string;
  name: string;
  /** A default route synthesized by the policy controller (`*-egress-allow|deny`, `egress-fallback`). */
  default: boolean;
}

/** Counts for one row; every field is a counter (or a delta of counters). */
export interface Counts {
  /** HTTP/gRPC requests by status (`200`, `403`, `OK`, `PERMISSION_DENIED`, `error:UNKNOWN`). */
  statuses: Record<string, number>;
  requests: number;
  /** Requests or connections the policy refused. */
  denied: number;
  /** 5xx, non-OK gRPC (other than a policy denial), and transport errors. */
  failed: number;
  /** Requests sent to an in-cluster Service instead of the original host. */
  redirected: number;
  opened: number;
  closed: number;
  /** Connections closed with error="forbidden". */
  forbidden: number;
  /** Latency histogram (seconds): upper bound → cumulative count. */
  buckets: Map<number, number>;
}

export interface EgressRow {
  /** The EgressNetwork; undefined for traffic no EgressNetwork captured (egress-fallback). */
  network: NetworkRef | undefined;
  port: string;
  protocol: Protocol;
  route: RouteRef;
  /** hostname, or `ip:port` for TCP; `''` when hostname labels are off. */
  destination: string;
  /** `namespace/name:port` of the Service a redirect went to. */
  redirectTo: string | undefined;
  pods: Set<string>;
  counts: Counts;
}

const emptyCounts = (): Counts => ({
  statuses: {},
  requests: 0,
  denied: 0,
  failed: 0,
  redirected: 0,
  opened: 0,
  closed: 0,
  forbidden: 0,
  buckets: new Map(),
});

const FAMILY: Record<
  string,
  { protocol: Protocol; part: 'statuses' | 'duration' | 'backend' | 'open' | 'close' }
> = {
  outbound_http_route_request_statuses: { protocol: 'http', part: 'statuses' },
  outbound_grpc_route_request_statuses: { protocol: 'grpc', part: 'statuses' },
  outbound_http_route_request_duration_seconds: { protocol: 'http', part: 'duration' },
  outbound_grpc_route_request_duration_seconds: { protocol: 'grpc', part: 'duration' },
  outbound_http_route_backend_response_statuses: { protocol: 'http', part: 'backend' },
  outbound_grpc_route_backend_response_statuses: { protocol: 'grpc', part: 'backend' },
  outbound_tls_route_open: { protocol: 'tls', part: 'open' },
  outbound_tls_route_close: { protocol: 'tls', part: 'close' },
  outbound_tcp_route_open: { protocol: 'tcp', part: 'open' },
  outbound_tcp_route_close: { protocol: 'tcp', part: 'close' },
};

/** Families the model reads: lets the parser skip everything else. */
export const isEgressFamily = (name: string): boolean => name in FAMILY;

const isEgress = (l: Record<string, string>) => l.parent_kind === 'EgressNetwork';
const isFallback = (l: Record<string, string>) =>
  l.parent_kind === 'default' && l.parent_name === 'egress-fallback';

function routeOf(l: Record<string, string>): RouteRef {
  const isDefault = l.route_kind === 'default' || l.route_kind === '' || l.route_kind === undefined;
  return {
    kind: isDefault ? 'default' : (l.route_kind as string),
    namespace: l.route_namespace ?? '',
    name: l.route_name ?? '',
    default: isDefault,
  };
}

function destinationOf(protocol: Protocol, l: Record<string, string>): string {
  if (protocol === 'tcp')
    return l.target_ip ? `${l.target_ip}:${l.target_port ?? ''}` : `:${l.target_port ?? ''}`;
  return l.hostname ?? '';
}

const routeKey = (protocol: Protocol, l: Record<string, string>): string =>
  [
    protocol,
    l.parent_namespace,
    l.parent_name,
    l.parent_port,
    l.route_kind || 'default',
    l.route_namespace,
    l.route_name,
  ].join('\u0000');

const isDenyRoute = (r: RouteRef) => r.default && r.name.endsWith('-egress-deny');

/** Where a series goes: its row's identity, computed from its labels and protocol. */
interface RowShape {
  key: string;
  network: NetworkRef | undefined;
  port: string;
  route: RouteRef;
  destination: string;
}

/**
 * Row shapes by labels object and protocol. The samples of a scrape share one labels object per label
 * block across pods (metrics/detach.ts), so a series' row is worked out once per scrape, not once per
 * pod. Shapes are read-only and shared between rows, as the rows' network and route always were.
 */
const shapes = new WeakMap<Record<string, string>, Partial<Record<Protocol, RowShape>>>();

function shapeOf(protocol: Protocol, l: Record<string, string>): RowShape {
  let byProtocol = shapes.get(l);
  const had = byProtocol?.[protocol];
  if (had) return had;
  const network = isEgress(l)
    ? { namespace: l.parent_namespace ?? '', name: l.parent_name ?? '', port: l.parent_port ?? '' }
    : undefined;
  const route = routeOf(l);
  const destination = destinationOf(protocol, l);
  const port = l.parent_port || (protocol === 'tcp' ? (l.target_port ?? '') : '');
  const key = [
    network ? `${network.namespace}/${network.name}` : '',
    port,
    protocol,
    route.kind,
    route.namespace,
    route.name,
    destination,
  ].join('\u0000');
  const shape = { key, network, port, route, destination };
  if (!byProtocol) shapes.set(l, (byProtocol = {}));
  byProtocol[protocol] = shape;
  return shape;
}

/** Accumulates rows from one pod's exposition. */
export class EgressModel {
  readonly rows = new Map<string, EgressRow>();
  /** Pods whose egress series carry hostname="" (hostname labels off). */
  readonly hostnamesOff = new Set<string>();

  private row(pod: string, protocol: Protocol, l: Record<string, string>): EgressRow {
    const { key, network, port, route, destination } = shapeOf(protocol, l);
    let r = this.rows.get(key);
    if (!r) {
      r = {
        network,
        port,
        protocol,
        route,
        destination,
        redirectTo: undefined,
        pods: new Set(),
        counts: emptyCounts(),
      };
      this.rows.set(key, r);
    }
    r.pods.add(pod);
    if (protocol !== 'tcp' && destination === '') this.hostnamesOff.add(pod);
    return r;
  }

  private readonly redirects = new Map<string, string>();

  /** Adds one pod's metrics. `pod` is `namespace/name`. */
  add(pod: string, e: Exposition): void {
    for (const f of e.families) {
      const kind = FAMILY[f.name];
      if (!kind) continue;
      this.addFamily(pod, f, kind.protocol, kind.part);
    }
    for (const r of this.rows.values()) {
      const to = this.redirects.get(
        routeKey(r.protocol, {
          parent_namespace: r.network?.namespace ?? '',
          parent_name: r.network?.name ?? '',
          parent_port: r.port,
          route_kind: r.route.default ? 'default' : r.route.kind,
          route_namespace: r.route.namespace,
          route_name: r.route.name,
        }),
      );
      if (to) {
        r.redirectTo = to;
        r.counts.redirected = r.counts.requests - r.counts.failed;
      }
    }
  }

  private addFamily(
    pod: string,
    f: MetricFamily,
    protocol: Protocol,
    part: (typeof FAMILY)[string]['part'],
  ): void {
    for (const s of f.samples) {
      const l = s.labels;
      if (!isEgress(l) && !isFallback(l)) continue;
      if (part === 'backend') {
        // A Service backend on an egress route: its requests were redirected into the cluster. Backend
        // series carry no hostname, so the redirect is marked on the route's rows (see add()).
        if (l.backend_kind === 'Service' && s.value > 0) {
          this.redirects.set(
            routeKey(protocol, l),
            `${l.backend_namespace ?? ''}/${l.backend_name ?? ''}:${l.backend_port ?? ''}`,
          );
        }
        continue;
      }
      const r = this.row(pod, protocol, l);
      const c = r.counts;
      if (part === 'statuses') {
        const status = protocol === 'http' ? (l.http_status ?? '') : (l.grpc_status ?? '');
        const key = l.error ? `error:${l.error}` : status || 'none';
        addTo(c.statuses, key, s.value);
        c.requests += s.value;
        if (isDenyRoute(r.route) && (status === '403' || status === 'PERMISSION_DENIED')) c.denied += s.value;
        else if (
          l.error ||
          (protocol === 'http' && status.startsWith('5')) ||
          (protocol === 'grpc' && status !== 'OK')
        )
          c.failed += s.value;
      } else if (part === 'duration') {
        if (s.name.endsWith('_bucket')) {
          const le = l.le === '+Inf' ? Infinity : Number(l.le);
          c.buckets.set(le, (c.buckets.get(le) ?? 0) + s.value);
        }
      } else if (part === 'open') {
        c.opened += s.value;
      } else {
        c.closed += s.value;
        if (l.error === 'forbidden') {
          c.forbidden += s.value;
          c.denied += s.value;
        } else if (l.error) c.failed += s.value;
      }
    }
  }
}

/**
 * Estimates a quantile from cumulative buckets as Prometheus' histogram_quantile does: linear
 * interpolation inside the bucket; in the +Inf bucket, the highest finite bound.
 */
export function quantile(q: number, buckets: Map<number, number>): number | undefined {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      if (count === prevCount) return bound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / (count - prevCount);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** The verdict of a row from its counts. */
export function verdictOf(r: EgressRow): Verdict {
  const c = r.counts;
  const total = r.protocol === 'http' || r.protocol === 'grpc' ? c.requests : c.opened;
  if (c.redirected > 0 || r.redirectTo) return 'redirected';
  if (total === 0) return isDenyRoute(r.route) ? 'denied' : 'allowed';
  if (c.denied >= total) return 'denied';
  if (c.failed >= total) return 'failed';
  if (c.denied > 0) return 'mixed';
  return 'allowed';
}

/**
 * Per-series deltas between two scrapes of one proxy: every counter, bucket, _sum and _count is
 * cumulative. A value that went down means the proxy restarted; the new value is the delta, as in
 * Prometheus' increase(). Series missing from the earlier scrape count from zero.
 */
export function deltaExposition(before: Exposition | undefined, after: Exposition): Exposition {
  // The first sample of a repeated series is the one that counts, as in the parser, on both sides: a
  // later duplicate neither overwrites the earlier value nor adds a row of its own, so
  // deltaExposition(e, e) is zero everywhere.
  const prev = new Map<string, number>();
  for (const f of before?.families ?? [])
    for (const s of f.samples) {
      const k = seriesKey(s);
      if (!prev.has(k)) prev.set(k, s.value);
    }
  const done = new Set<string>();
  return {
    ...after,
    families: after.families.map((f) => ({
      ...f,
      samples: f.samples.flatMap((s): Sample[] => {
        const k = seriesKey(s);
        if (done.has(k)) return [];
        done.add(k);
        const p = prev.get(k);
        const d = p === undefined ? s.value : s.value >= p ? s.value - p : s.value;
        return [{ name: s.name, labels: s.labels, value: d }];
      }),
    })),
  };
}

/** A series' identity: its name and its labels in name order (the order on the wire does not matter). */
export function seriesKey(s: Sample): string {
  let k = s.name;
  for (const name of Object.keys(s.labels).sort())
    k += `\u0000${name.length}:${name}${(s.labels[name] as string).length}:${s.labels[name] as string}`;
  return k;
}

export type GroupBy = 'network' | 'route' | 'host' | 'pod';

/** Merges rows to the requested grain; `host` keeps every row (rows per pod are stat.ts's toStatWindow). */
export function groupRows(rows: EgressRow[], by: Exclude<GroupBy, 'pod'>): EgressRow[] {
  if (by === 'host') return rows;
  const out = new Map<string, EgressRow>();
  for (const r of rows) {
    const key =
      by === 'route'
        ? [
            r.network?.namespace,
            r.network?.name,
            r.port,
            r.protocol,
            r.route.kind,
            r.route.namespace,
            r.route.name,
          ].join('\u0000')
        : [r.network?.namespace, r.network?.name, r.port, r.protocol].join('\u0000');
    const m = out.get(key);
    if (!m) {
      out.set(key, {
        ...r,
        destination: by === 'network' || by === 'route' ? r.destination : '*',
        route: by === 'network' ? { kind: '*', namespace: '', name: '*', default: false } : r.route,
        pods: new Set(r.pods),
        counts: mergeCounts(emptyCounts(), r.counts),
      });
      continue;
    }
    if (m.destination !== r.destination) m.destination = '*';
    if (by === 'network' && (m.route.name !== r.route.name || m.route.kind !== r.route.kind))
      m.route = { kind: '*', namespace: '', name: '*', default: false };
    if (r.redirectTo) m.redirectTo = m.redirectTo && m.redirectTo !== r.redirectTo ? '*' : r.redirectTo;
    for (const p of r.pods) m.pods.add(p);
    mergeCounts(m.counts, r.counts);
  }
  return [...out.values()];
}

/**
 * `rec[key] += v` for a key taken from a label value: an own property even for `__proto__`, and never
 * an inherited one (`constructor`, `toString`) read as the current count.
 */
function addTo(rec: Record<string, number>, key: string, v: number): void {
  const value = (Object.hasOwn(rec, key) ? (rec[key] as number) : 0) + v;
  Object.defineProperty(rec, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Adds `b` into `a` (histograms bucket-wise). */
export function mergeCounts(a: Counts, b: Counts): Counts {
  for (const [k, v] of Object.entries(b.statuses)) addTo(a.statuses, k, v);
  a.requests += b.requests;
  a.denied += b.denied;
  a.failed += b.failed;
  a.redirected += b.redirected;
  a.opened += b.opened;
  a.closed += b.closed;
  a.forbidden += b.forbidden;
  for (const [le, v] of b.buckets) a.buckets.set(le, (a.buckets.get(le) ?? 0) + v);
  return a;
}

/** Merges per-pod models into cluster-wide rows (counters summed, histograms bucket-wise). */
export function mergeModels(models: EgressModel[]): EgressRow[] {
  const out = new Map<string, EgressRow>();
  for (const m of models) {
    for (const [key, r] of m.rows) {
      const o = out.get(key);
      if (!o) out.set(key, { ...r, pods: new Set(r.pods), counts: mergeCounts(emptyCounts(), r.counts) });
      else {
        for (const p of r.pods) o.pods.add(p);
        o.redirectTo ??= r.redirectTo;
        mergeCounts(o.counts, r.counts);
      }
    }
  }
  return sortRows([...out.values()]);
}

/**
 * Stable order: captured before uncaptured, then network, port, protocol, route, destination, and last
 * the pods (rows grouped by pod differ only there; without it their order would be the order the
 * scrapes finished in).
 */
export function sortRows(rows: EgressRow[]): EgressRow[] {
  const k = (r: EgressRow) =>
    [
      r.network ? `0${r.network.namespace}/${r.network.name}` : '1',
      r.port.padStart(5, '0'),
      r.protocol,
      r.route.default ? '1' : '0',
      r.route.name,
      r.destination,
      [...r.pods].sort().join(','),
    ].join('\u0000');
  return rows.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}
