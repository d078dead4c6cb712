import { InvalidInput } from '../errors.js';
import type { Protocol, Verdict } from './egress.js';
import type { StatReport, StatRowJson } from './stat.js';

/**
 * The ledger of observed flows (`kind: EgressLedger`): who called which external destination, through
 * which EgressNetwork and route, with what verdict, how often and when. It is built from the SAME model
 * as `egress stat -o json` (a `StatReport` grouped `--by pod`), summed per workload, so the two can never
 * disagree. `egress plan` replays it; `egress learn` proposes policy from it. Pure.
 */

export const LEDGER_API_VERSION = 'egressctl.linkerd.io/v1';

/** What owns a pod, as `kubectl get` names it; `pod` for a bare pod. */
export interface WorkloadRef {
  kind: 'deployment' | 'statefulset' | 'daemonset' | 'job' | 'replicaset' | 'replicationcontroller' | 'pod';
  name: string;
}

/** One flow: a client workload's traffic to one destination through one route. */
export interface LedgerFlow {
  client: { namespace: string; workload: WorkloadRef; pods: string[] };
  /** The EgressNetwork that captured it; null for egress-fallback (no network captured it). */
  network: { namespace: string; name: string } | null;
  /** The network's port (the destination port); null only when the proxy reported none. */
  port: number | null;
  protocol: Protocol;
  /**
   * The hostname (HTTP, gRPC) or SNI (TLS); `ip:port` for TCP. `''` when hostname labels are off: the
   * proxy then reports no host, and the flow cannot be judged by host.
   */
  destination: string;
  /** The route that matched, as the proxy reported it (`default` for the policy controller's own). */
  route: { kind: string; namespace: string; name: string; default: boolean };
  verdict: Verdict;
  /** `namespace/name:port` of the Service a redirect went to. */
  redirectTo: string | null;
  counts: { requests: number; connections: number; denied: number; failed: number };
  /** Requests (HTTP, gRPC) or connections (TLS, TCP) per second over the window; null for totals. */
  rate: number | null;
  /**
   * ISO times bounding when the flow was seen: the start of the first window in which it moved (null
   * for totals since each proxy started, which say nothing about when), and the end of the last one.
   */
  firstSeen: string | null;
  lastSeen: string;
}

/** Where the flows came from. */
export type LedgerSource =
  | { kind: 'pods'; selection: string; scraped: number; failed: number }
  | { kind: 'file'; path: string }
  | { kind: 'prometheus'; url: string; query?: string };

export interface EgressLedger {
  apiVersion: typeof LEDGER_API_VERSION;
  kind: 'EgressLedger';
  schemaVersion: 1;
  source: LedgerSource;
  /** `start` is null for totals since each proxy started; `seconds` null likewise. */
  window: { start: string | null; end: string; seconds: number | null };
  /** What the metrics could not say (hostname labels off), from the stat report. */
  notices: string[];
  flows: LedgerFlow[];
}

/** The parts of a pod the workload is derived from (a `kube/resolve.ts` Pod fits). */
export interface PodOwnerInfo {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  };
}

/**
 * The workload that owns a pod, without another API call: a ReplicaSet named `<deployment>-<hash>`
 * whose hash is the pod's `pod-template-hash` label belongs to that Deployment (the Deployment
 * controller names them so: kubernetes pkg/controller/deployment/sync.go); StatefulSet, DaemonSet and
 * Job are the direct owner. A pod without an owner is its own workload.
 */
export function workloadOf(pod: PodOwnerInfo): WorkloadRef {
  const refs = pod.metadata.ownerReferences ?? [];
  const owner = refs.find((r) => r.controller) ?? refs[0];
  if (!owner?.kind || !owner.name) return { kind: 'pod', name: pod.metadata.name };
  const hash = pod.metadata.labels?.['pod-template-hash'];
  switch (owner.kind) {
    case 'ReplicaSet':
      return hash && owner.name.endsWith(`-${hash}`)
        ? { kind: 'deployment', name: owner.name.slice(0, -hash.length - 1) }
        : { kind: 'replicaset', name: owner.name };
    case 'StatefulSet':
      return { kind: 'statefulset', name: owner.name };
    case 'DaemonSet':
      return { kind: 'daemonset', name: owner.name };
    case 'Job':
      return { kind: 'job', name: owner.name };
    case 'ReplicationController':
      return { kind: 'replicationcontroller', name: owner.name };
    default:
      return { kind: 'pod', name: pod.metadata.name };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The ledger of one stat window. `report` must be grouped `--by pod` (each row names one pod), so that
 * flows keep their client; rows are then summed per workload. `workloads` maps `namespace/pod` to its
 * owner (`workloadOf`); a pod missing from it is its own workload. `start`/`end` are the window's
 * bounds in ms since the epoch (`start` undefined for a totals report).
 */
export function toLedger(
  report: StatReport,
  o: { workloads: Map<string, WorkloadRef>; source: LedgerSource; start: number | undefined; end: number },
): EgressLedger {
  if (report.groupBy !== 'pod')
    throw new InvalidInput(`a ledger is built from a report grouped by pod, not by ${report.groupBy}`);
  const flows = new Map<string, LedgerFlow>();
  const seconds = report.window.mode === 'rate' ? report.window.seconds : null;
  for (const r of [...report.rows, ...report.uncaptured]) {
    for (const pod of r.pods) {
      const [namespace = '', name = ''] = pod.split('/');
      const workload = o.workloads.get(pod) ?? { kind: 'pod' as const, name };
      const key = flowKey({ namespace, workload }, r);
      const counts = countsOf(r);
      const f = flows.get(key);
      if (!f) {
        flows.set(key, {
          client: { namespace, workload, pods: [pod] },
          network: r.network,
          port: r.port,
          protocol: r.protocol,
          destination: r.destination,
          route: { ...r.route },
          verdict: r.verdict,
          redirectTo: r.redirectTo,
          counts,
          rate: r.rate,
          firstSeen: o.start === undefined ? null : iso(o.start),
          lastSeen: iso(o.end),
        });
        continue;
      }
      if (!f.client.pods.includes(pod)) f.client.pods.push(pod);
      addCounts(f.counts, counts);
      if (f.verdict !== r.verdict) f.verdict = 'mixed';
      if (r.redirectTo && f.redirectTo !== r.redirectTo) f.redirectTo = f.redirectTo ? '*' : r.redirectTo;
      if (f.rate !== null && r.rate !== null) f.rate = round(f.rate + r.rate);
    }
  }
  return {
    apiVersion: LEDGER_API_VERSION,
    kind: 'EgressLedger',
    schemaVersion: 1,
    source: o.source,
    window: { start: o.start === undefined ? null : iso(o.start), end: iso(o.end), seconds },
    notices: [...report.notices],
    flows: sortFlows(
      [...flows.values()].map((f) => ({ ...f, client: { ...f.client, pods: f.client.pods.sort() } })),
    ),
  };
}

function countsOf(r: StatRowJson): LedgerFlow['counts'] {
  return {
    requests: r.requests,
    connections: r.connections?.opened ?? 0,
    denied: r.denied,
    failed: r.failed,
  };
}

function addCounts(a: LedgerFlow['counts'], b: LedgerFlow['counts']): void {
  a.requests += b.requests;
  a.connections += b.connections;
  a.denied += b.denied;
  a.failed += b.failed;
}

/** The identity of a flow: everything but its counts, rate, times and pods. */
export function flowKey(
  client: { namespace: string; workload: WorkloadRef },
  f: Pick<LedgerFlow, 'network' | 'port' | 'protocol' | 'destination' | 'route'>,
): string {
  return [
    client.namespace,
    client.workload.kind,
    client.workload.name,
    f.network ? `${f.network.namespace}/${f.network.name}` : '',
    f.port ?? '',
    f.protocol,
    f.destination,
    f.route.kind,
    f.route.namespace,
    f.route.name,
  ].join('\u0000');
}

/** Stable order: client namespace and workload, then network, port, protocol, destination, route. */
export function sortFlows(flows: LedgerFlow[]): LedgerFlow[] {
  const k = (f: LedgerFlow) =>
    [
      f.client.namespace,
      f.client.workload.name,
      f.client.workload.kind,
      f.network ? `0${f.network.namespace}/${f.network.name}` : '1',
      String(f.port ?? '').padStart(5, '0'),
      f.protocol,
      f.destination,
      f.route.default ? '1' : '0',
      f.route.name,
    ].join('\u0000');
  return flows
    .map((f) => [k(f), f] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, f]) => f);
}

/**
 * Merges ledgers of consecutive windows (or of several sources) into one: counts summed, the window
 * the union, rates recomputed over it, first/last seen the earliest/latest. For `learn` over many
 * windows.
 */
export function mergeLedgers(ledgers: EgressLedger[], source: LedgerSource): EgressLedger {
  const flows = new Map<string, LedgerFlow>();
  const starts = ledgers.map((l) => l.window.start);
  const start = starts.includes(null) || !starts.length ? null : ((starts as string[]).sort()[0] ?? null);
  const end =
    ledgers
      .map((l) => l.window.end)
      .sort()
      .at(-1) ?? new Date(0).toISOString();
  const seconds = start === null ? null : Math.max(0.001, (Date.parse(end) - Date.parse(start)) / 1000);
  for (const l of ledgers)
    for (const f of l.flows) {
      const key = flowKey(f.client, f);
      const o = flows.get(key);
      if (!o) {
        flows.set(key, structuredClone(f));
        continue;
      }
      for (const p of f.client.pods) if (!o.client.pods.includes(p)) o.client.pods.push(p);
      o.client.pods.sort();
      addCounts(o.counts, f.counts);
      if (o.verdict !== f.verdict) o.verdict = 'mixed';
      if (f.redirectTo && o.redirectTo !== f.redirectTo) o.redirectTo = o.redirectTo ? '*' : f.redirectTo;
      o.firstSeen =
        o.firstSeen === null || f.firstSeen === null ? null : ([o.firstSeen, f.firstSeen].sort()[0] ?? null);
      o.lastSeen = [o.lastSeen, f.lastSeen].sort().at(-1) ?? o.lastSeen;
    }
  for (const f of flows.values()) {
    const volume = f.protocol === 'http' || f.protocol === 'grpc' ? f.counts.requests : f.counts.connections;
    f.rate = seconds === null ? null : round(volume / seconds);
  }
  return {
    apiVersion: LEDGER_API_VERSION,
    kind: 'EgressLedger',
    schemaVersion: 1,
    source,
    window: { start, end, seconds },
    notices: [...new Set(ledgers.flatMap((l) => l.notices))],
    flows: sortFlows([...flows.values()]),
  };
}

// ── reading a ledger file (`--from-file`) ──

const PROTOCOLS = ['http', 'grpc', 'tls', 'tcp'] as const;
const VERDICTS = ['allowed', 'denied', 'redirected', 'failed', 'mixed'] as const;
const WORKLOAD_KINDS = [
  'deployment',
  'statefulset',
  'daemonset',
  'job',
  'replicaset',
  'replicationcontroller',
  'pod',
] as const;

/**
 * Parses and checks a ledger document (JSON, as `-o json` writes it). Every problem is an InvalidInput
 * naming the file and the field (`ledger.json: flows[3].protocol: want one of http, grpc, tls, tcp`).
 */
export function parseLedger(text: string, file: string): EgressLedger {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InvalidInput(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const bad = (field: string, want: string): never => {
    throw new InvalidInput(`${file}: ${field}: ${want}`);
  };
  const obj = (v: unknown, field: string): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : bad(field, 'want an object');
  const str = (v: unknown, field: string): string =>
    typeof v === 'string' ? v : bad(field, 'want a string');
  const num = (v: unknown, field: string): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : bad(field, 'want a number ≥ 0');
  const nullable = <T>(v: unknown, f: (x: unknown) => T): T | null =>
    v === null || v === undefined ? null : f(v);
  const oneOf = <T extends string>(v: unknown, field: string, values: readonly T[]): T =>
    values.includes(v as T) ? (v as T) : bad(field, `want one of ${values.join(', ')}`);
  const time = (v: unknown, field: string): string =>
    Number.isNaN(Date.parse(str(v, field))) ? bad(field, 'want an ISO 8601 time') : (v as string);

  const d = obj(doc, '(document)');
  if (d.kind !== 'EgressLedger') bad('kind', `want EgressLedger (got ${JSON.stringify(d.kind)})`);
  if (d.apiVersion !== LEDGER_API_VERSION) bad('apiVersion', `want ${LEDGER_API_VERSION}`);
  if (d.schemaVersion !== 1) bad('schemaVersion', 'want 1 (this egressctl reads ledger schema 1)');
  const src = obj(d.source, 'source');
  const sourceKind = oneOf(src.kind, 'source.kind', ['pods', 'file', 'prometheus'] as const);
  const w = obj(d.window, 'window');
  const window = {
    start: nullable(w.start, (v) => time(v, 'window.start')),
    end: time(w.end, 'window.end'),
    seconds: nullable(w.seconds, (v) => num(v, 'window.seconds')),
  };
  if (!Array.isArray(d.flows)) bad('flows', 'want a list');
  const notices =
    d.notices === undefined
      ? []
      : Array.isArray(d.notices)
        ? d.notices.map((n, i) => str(n, `notices[${i}]`))
        : bad('notices', 'want a list');
  const flows = (d.flows as unknown[]).map((raw, i): LedgerFlow => {
    const at = `flows[${i}]`;
    const f = obj(raw, at);
    const c = obj(f.client, `${at}.client`);
    const wl = obj(c.workload, `${at}.client.workload`);
    const net = nullable(f.network, (v) => obj(v, `${at}.network`));
    const route = obj(f.route, `${at}.route`);
    const counts = obj(f.counts, `${at}.counts`);
    const protocol = oneOf(f.protocol, `${at}.protocol`, PROTOCOLS);
    const port = nullable(f.port, (v) =>
      Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535
        ? (v as number)
        : bad(`${at}.port`, 'want a port 1-65535'),
    );
    const destination = str(f.destination, `${at}.destination`);
    if (
      protocol === 'tcp' &&
      destination !== '' &&
      !/^(?:\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+):\d*$/.test(destination)
    )
      bad(`${at}.destination`, `want ip:port for a tcp flow (got ${JSON.stringify(destination)})`);
    if (!Array.isArray(c.pods)) bad(`${at}.client.pods`, 'want a list');
    return {
      client: {
        namespace: str(c.namespace, `${at}.client.namespace`),
        workload: {
          kind: oneOf(wl.kind, `${at}.client.workload.kind`, WORKLOAD_KINDS),
          name: str(wl.name, `${at}.client.workload.name`),
        },
        pods: (c.pods as unknown[]).map((p, j) => str(p, `${at}.client.pods[${j}]`)),
      },
      network: net && {
        namespace: str(net.namespace, `${at}.network.namespace`),
        name: str(net.name, `${at}.network.name`),
      },
      port,
      protocol,
      destination,
      route: {
        kind: str(route.kind, `${at}.route.kind`),
        namespace: str(route.namespace ?? '', `${at}.route.namespace`),
        name: str(route.name, `${at}.route.name`),
        default:
          typeof route.default === 'boolean'
            ? route.default
            : bad(`${at}.route.default`, 'want true or false'),
      },
      verdict: oneOf(f.verdict, `${at}.verdict`, VERDICTS),
      redirectTo: nullable(f.redirectTo, (v) => str(v, `${at}.redirectTo`)),
      counts: {
        requests: num(counts.requests ?? 0, `${at}.counts.requests`),
        connections: num(counts.connections ?? 0, `${at}.counts.connections`),
        denied: num(counts.denied ?? 0, `${at}.counts.denied`),
        failed: num(counts.failed ?? 0, `${at}.counts.failed`),
      },
      rate: nullable(f.rate, (v) => num(v, `${at}.rate`)),
      firstSeen: nullable(f.firstSeen, (v) => time(v, `${at}.firstSeen`)),
      lastSeen: time(f.lastSeen, `${at}.lastSeen`),
    };
  });
  const source: LedgerSource =
    sourceKind === 'pods'
      ? {
          kind: 'pods',
          selection: str(src.selection ?? '', 'source.selection'),
          scraped: num(src.scraped ?? 0, 'source.scraped'),
          failed: num(src.failed ?? 0, 'source.failed'),
        }
      : sourceKind === 'file'
        ? { kind: 'file', path: str(src.path ?? file, 'source.path') }
        : {
            kind: 'prometheus',
            url: str(src.url, 'source.url'),
            ...(typeof src.query === 'string' ? { query: src.query } : {}),
          };
  return {
    apiVersion: LEDGER_API_VERSION,
    kind: 'EgressLedger',
    schemaVersion: 1,
    source,
    window,
    notices,
    flows,
  };
}
