/**
 * A simulated linkerd2-proxy's `/metrics`: counters and histograms that grow as simulated traffic is
 * recorded, rendered in proxy v2.366's exact wire format (legacy text section, then the
 * prometheus-client OpenMetrics section, then `# EOF`; see shared/fixtures/README.md). Series are never
 * evicted, as in the real proxy: after a policy change the old route's series stay, frozen.
 */

/** A parent or backend reference as the proxy labels it. */
export interface MetaRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  port: string;
}

/** A route reference; default routes are `{group:'', kind:'default', namespace:'', name}`. */
export interface RouteMeta {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** One finished request or connection, as the proxy would account it. */
export type TrafficRecord =
  | {
      protocol: 'http' | 'grpc';
      parent: MetaRef;
      route: RouteMeta;
      hostname: string;
      /** Where the request was dispatched; absent when a filter answered it (deny). */
      backend?: MetaRef | undefined;
      /** HTTP status code, or gRPC status name (`OK`, `PERMISSION_DENIED`, …). */
      status: string;
      error: string;
      seconds: number;
    }
  | {
      protocol: 'tls' | 'tcp';
      parent: MetaRef;
      route: RouteMeta;
      hostname: string;
      targetIp: string;
      targetPort: string;
      /** `''` for a clean close, `forbidden` for a denied connection, … */
      closeError: string;
    };

const REQ_BUCKETS = [0.05, 0.5, 1.0, 10.0];
const RSP_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0];
const CLOSE_ERRORS = ['', 'forbidden', 'invalid_backend', 'invalid_policy', 'unexpected'];

/** prometheus-client formats f64 with dtoa: integral values keep `.0`. */
function dtoa(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  return String(x);
}

const labelText = (pairs: [string, string][]): string =>
  pairs.length ? `{${pairs.map(([k, v]) => `${k}="${v}"`).join(',')}}` : '';

const meta = (prefix: string, m: MetaRef): [string, string][] => [
  [`${prefix}_group`, m.group],
  [`${prefix}_kind`, m.kind],
  [`${prefix}_namespace`, m.namespace],
  [`${prefix}_name`, m.name],
  [`${prefix}_port`, m.port],
  [`${prefix}_section_name`, ''],
];
const routeMeta = (r: RouteMeta): [string, string][] => [
  ['route_group', r.group],
  ['route_kind', r.kind],
  ['route_namespace', r.namespace],
  ['route_name', r.name],
];

class Histogram {
  readonly buckets: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: number[]) {
    this.buckets = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const i = this.bounds.findIndex((b) => v <= b);
    (this.buckets[i < 0 ? this.bounds.length : i] as number)++;
  }
  /** prometheus-client order: _sum, _count, then cumulative buckets with dtoa `le`. */
  render(name: string, labels: [string, string][], out: string[]): void {
    const l = labelText(labels);
    out.push(`${name}_sum${l} ${dtoa(Number(this.sum.toFixed(6)))}`, `${name}_count${l} ${this.count}`);
    let cum = 0;
    this.bounds.forEach((b, i) => {
      cum += this.buckets[i] as number;
      out.push(`${name}_bucket${labelText([...labels, ['le', dtoa(b)]])} ${cum}`);
    });
    cum += this.buckets[this.bounds.length] as number;
    out.push(`${name}_bucket${labelText([...labels, ['le', '+Inf']])} ${cum}`);
  }
}

/** Counters keyed by their label text, in first-seen order. */
class Family<T> {
  readonly series = new Map<string, { labels: [string, string][]; value: T }>();
  constructor(private readonly make: () => T) {}
  get(labels: [string, string][]): T {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, value: this.make() };
      this.series.set(key, s);
    }
    return s.value;
  }
}

interface RouteFamilies {
  duration: Family<Histogram>;
  backendRequests: Family<{ n: number }>;
  backendDuration: Family<Histogram>;
  backendStatuses: Family<{ n: number }>;
  statuses: Family<{ n: number }>;
}

const routeFamilies = (): RouteFamilies => ({
  duration: new Family(() => new Histogram(REQ_BUCKETS)),
  backendRequests: new Family(() => ({ n: 0 })),
  backendDuration: new Family(() => new Histogram(RSP_BUCKETS)),
  backendStatuses: new Family(() => ({ n: 0 })),
  statuses: new Family(() => ({ n: 0 })),
});

/** One simulated proxy. */
export class ProxySim {
  private readonly http = routeFamilies();
  private readonly grpc = routeFamilies();
  private readonly tls = { open: new Family(() => ({ n: 0 })), close: new Family(() => ({ n: 0 })) };
  private readonly tcp = { open: new Family(() => ({ n: 0 })), close: new Family(() => ({ n: 0 })) };
  private inboundProbes = 0;

  /**
   * @param hostnameLabels whether the pod has `config.linkerd.io/proxy-metrics-hostname-labels: "true"`;
   *   without it every `hostname` label is empty, as in the real proxy.
   */
  constructor(private readonly o: { hostnameLabels: boolean; startTime: number; podIp: string }) {}

  /** Accounts one request or connection. */
  record(r: TrafficRecord): void {
    const host = this.o.hostnameLabels ? r.hostname : '';
    if (!('closeError' in r)) {
      const f = r.protocol === 'http' ? this.http : this.grpc;
      const route = [...meta('parent', r.parent), ...routeMeta(r.route), ['hostname', host]] as [
        string,
        string,
      ][];
      const statusKey = r.protocol === 'http' ? 'http_status' : 'grpc_status';
      f.duration.get(route).observe(r.seconds);
      f.statuses.get([...route, [statusKey, r.status], ['error', r.error]]).n++;
      if (r.backend) {
        const backend = [
          ...meta('parent', r.parent),
          ...routeMeta(r.route),
          ...meta('backend', r.backend),
        ] as [string, string][];
        f.backendRequests.get(backend).n++;
        f.backendDuration.get(backend).observe(r.seconds * 0.9);
        f.backendStatuses.get([...backend, [statusKey, r.status], ['error', r.error]]).n++;
      }
      return;
    }
    const f = r.protocol === 'tls' ? this.tls : this.tcp;
    const base = [
      ...meta('parent', r.parent),
      ...routeMeta(r.route),
      ...((r.protocol === 'tls'
        ? [['hostname', host]]
        : [
            ['target_ip', r.targetIp],
            ['target_port', r.targetPort],
          ]) as [string, string][]),
    ];
    f.open.get(base).n++;
    // All five close errors are pre-created when a route first sees a connection.
    for (const e of CLOSE_ERRORS) f.close.get([...base, ['error', e]]);
    f.close.get([...base, ['error', r.closeError]]).n++;
  }

  /** Kubelet probes hit the admin port too; they make the legacy section move like a real one. */
  probe(): void {
    this.inboundProbes++;
  }

  /** The `/metrics` body at `now` (ms since the epoch). */
  render(now: number): string {
    const out: string[] = [];
    const desc = (name: string, help: string, type: string, unit?: string, dot = true): string => {
      const full = unit ? `${name}_${unit}` : name;
      out.push(`# HELP ${full} ${help}${dot ? '.' : ''}`, `# TYPE ${full} ${type}`);
      if (unit) out.push(`# UNIT ${full} ${unit}`);
      return full;
    };
    // Legacy linkerd-metrics section: no UNIT lines, counter names carry _total, no trailing '.'.
    out.push(
      '# HELP inbound_http_authz_allow_total The total number of inbound HTTP requests that were authorized',
      '# TYPE inbound_http_authz_allow_total counter',
      `inbound_http_authz_allow_total{target_addr="0.0.0.0:4191",target_ip="0.0.0.0",target_port="4191",srv_group="",srv_kind="default",srv_name="admin",route_group="",route_kind="default",route_name="probe",authz_group="",authz_kind="default",authz_name="probe",tls="false"} ${this.inboundProbes}`,
      '# HELP tcp_open_total Total count of opened connections',
      '# TYPE tcp_open_total counter',
      `tcp_open_total{direction="inbound",peer="src",target_addr="${this.o.podIp}:4191",target_ip="${this.o.podIp}",target_port="4191",tls="disabled"} ${this.inboundProbes}`,
    );
    // prometheus-client section.
    let n = desc('proxy_build_info', 'Proxy build info', 'gauge');
    out.push(
      `${n}{date="2026-08-12T18:31:07Z",git_sha="0dcf4e17f4ac44a8d9b8a6327b055fa754482d2c",profile="release",vendor="linkerd",version="v2.366.0"} 1`,
    );
    this.renderRoutes('outbound_http_route', this.http, 'http', desc, out);
    this.renderRoutes('outbound_grpc_route', this.grpc, 'grpc', desc, out);
    this.renderTransport('outbound_tcp_route', this.tcp, desc, out);
    this.renderTransport('outbound_tls_route', this.tls, desc, out);
    n = desc(
      'process_start_time',
      'Time that the process started (in seconds since the UNIX epoch)',
      'gauge',
      'seconds',
    );
    out.push(`${n} ${dtoa(Math.floor(this.o.startTime / 1000))}`);
    n = desc(
      'process_uptime',
      'Total time since the process started (in seconds)',
      'counter',
      'seconds',
      false,
    );
    out.push(`${n}_total ${dtoa(Number(((now - this.o.startTime) / 1000).toFixed(6)))}`);
    out.push('# EOF');
    return `${out.join('\n')}\n`;
  }

  private renderRoutes(
    prefix: string,
    f: RouteFamilies,
    kind: 'http' | 'grpc',
    desc: (name: string, help: string, type: string, unit?: string) => string,
    out: string[],
  ): void {
    // Empty families are skipped entirely (prometheus-client 0.24.1).
    if (f.duration.series.size === 0) return;
    let n = desc(
      `${prefix}_request_duration`,
      'The time between request initialization and response completion',
      'histogram',
      'seconds',
    );
    for (const s of f.duration.series.values()) s.value.render(n, s.labels, out);
    if (f.backendRequests.series.size) {
      n = desc(`${prefix}_backend_requests`, 'The total number of requests dispatched', 'counter');
      for (const s of f.backendRequests.series.values())
        out.push(`${n}_total${labelText(s.labels)} ${s.value.n}`);
      n = desc(
        `${prefix}_backend_response_duration`,
        'The time between request completion and response completion',
        'histogram',
        'seconds',
      );
      for (const s of f.backendDuration.series.values()) s.value.render(n, s.labels, out);
      n = desc(`${prefix}_backend_response_statuses`, 'Completed responses', 'counter');
      for (const s of f.backendStatuses.series.values())
        out.push(`${n}_total${labelText(s.labels)} ${s.value.n}`);
    }
    n = desc(`${prefix}_request_statuses`, 'Completed request-response streams', 'counter');
    for (const s of f.statuses.series.values()) out.push(`${n}_total${labelText(s.labels)} ${s.value.n}`);
    void kind;
  }

  private renderTransport(
    prefix: string,
    f: { open: Family<{ n: number }>; close: Family<{ n: number }> },
    desc: (name: string, help: string, type: string) => string,
    out: string[],
  ): void {
    if (f.open.series.size === 0) return;
    let n = desc(`${prefix}_open`, 'The number of connections opened', 'counter');
    for (const s of f.open.series.values()) out.push(`${n}_total${labelText(s.labels)} ${s.value.n}`);
    n = desc(`${prefix}_close`, 'The number of connections closed', 'counter');
    for (const s of f.close.series.values()) out.push(`${n}_total${labelText(s.labels)} ${s.value.n}`);
  }
}
