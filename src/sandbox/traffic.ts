import type { Cidr } from '../net/cidr.js';
import { decide, parseRequestUrl, type Decision } from '../policy/engine.js';
import { policyObjects } from './policy-objects.js';
import type { MetaRef, ProxySim, RouteMeta, TrafficRecord } from './proxy-sim.js';
import type { Store } from './store.js';

/** The guide's loops (and a gRPC and a TCP destination), at documentation addresses (RFC 5737). */
export const DESTINATIONS: { url: string; ip: string }[] = [
  { url: 'http://httpbin.org/get', ip: '203.0.113.10' },
  { url: 'https://httpbin.org/ip', ip: '203.0.113.10' },
  { url: 'https://github.com', ip: '192.0.2.50' },
  { url: 'http://google.com/', ip: '203.0.113.30' },
  { url: 'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index', ip: '198.51.100.30' },
  { url: 'tcp://198.51.100.60:5432', ip: '198.51.100.60' },
];

export interface TrafficGenerator {
  /** Number of decisions made so far, by verdict. */
  counts(): Record<string, number>;
  /** The latest decision per destination URL. */
  latest(): Map<string, Decision>;
  /** Starts sending to one more destination from the next tick (a destination never seen before). */
  addDestination(d: { url: string; ip: string }): void;
  stop(): void;
}

/**
 * The traffic generator: every tick, each client proxy sends to each destination at `rate` per
 * second. Each request is decided by the policy engine over the objects stored at that moment and
 * recorded as the proxy would count it; then every proxy (idle ones too) is probed, as the kubelet does.
 * Seeded, so a run is repeatable.
 */
export function startTraffic(o: {
  store: Store;
  clusterNetworks: Cidr[];
  /** The namespace of the sending clients (whose EgressNetworks apply before the global one). */
  clientNamespace: string;
  /** The sending proxies. */
  clients: ProxySim[];
  /** Every proxy in the cluster, probed each tick. */
  proxies: () => Iterable<ProxySim>;
  rate: number;
  tickMs: number;
}): TrafficGenerator {
  const random = prng(0x5eed);
  const counts: Record<string, number> = {};
  const latest = new Map<string, Decision>();
  let carry = 0;
  const extra: { url: string; ip: string }[] = [];
  const tick = (): void => {
    carry += (o.rate * o.tickMs) / 1000;
    const n = Math.floor(carry);
    carry -= n;
    if (n === 0) return;
    const input = {
      objects: policyObjects(o.store),
      clusterNetworks: o.clusterNetworks,
      globalNamespace: 'linkerd-egress',
      clientNamespace: o.clientNamespace,
      assumeAccepted: false,
    };
    for (const d of [...DESTINATIONS, ...extra]) {
      const req = parseRequestUrl(d.url, { ip: d.ip });
      const decision = decide(input, req);
      latest.set(d.url, decision);
      for (const sim of o.clients) {
        for (let i = 0; i < n; i++) {
          sim.record(toRecord(decision, req, random));
          counts[decision.verdict] = (counts[decision.verdict] ?? 0) + 1;
        }
      }
    }
    for (const s of o.proxies()) s.probe();
  };
  const timer = setInterval(tick, o.tickMs);
  tick();
  return {
    counts: () => ({ ...counts }),
    latest: () => new Map(latest),
    addDestination: (d) => void extra.push(d),
    stop: () => clearInterval(timer),
  };
}

/** A small seeded PRNG (mulberry32): the simulation is repeatable. */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the proxy would account for one request under a decision. */
export function toRecord(
  d: Decision,
  req: ReturnType<typeof parseRequestUrl>,
  random: () => number,
): TrafficRecord {
  const port = String(req.port);
  const parent: MetaRef = d.network
    ? {
        group: 'policy.linkerd.io',
        kind: 'EgressNetwork',
        namespace: d.network.namespace,
        name: d.network.name,
        port,
      }
    : { group: '', kind: 'default', namespace: '', name: 'egress-fallback', port: '' };
  const route: RouteMeta =
    !d.route || d.route.default
      ? { group: '', kind: 'default', namespace: '', name: d.route?.name ?? 'egress-fallback' }
      : {
          group: 'gateway.networking.k8s.io',
          kind: d.route.kind,
          namespace: d.route.namespace,
          name: d.route.name,
        };
  const denied = d.verdict === 'deny';
  const seconds = denied
    ? 0.001 + random() * 0.004
    : d.verdict === 'redirect'
      ? 0.004 + random() * 0.02
      : 0.08 + random() * 0.3;
  const undetected = d.protocol === 'detect' || d.protocol === null;
  const transport =
    d.protocol === 'tls' ||
    d.protocol === 'opaque' ||
    (undetected && (req.scheme === 'https' || req.scheme === 'tcp')) ||
    d.route?.name.startsWith('tcp-');
  if (transport) {
    const tls = d.protocol === 'tls';
    return {
      protocol: tls ? 'tls' : 'tcp',
      parent,
      route,
      hostname: tls ? req.host : '',
      targetIp: req.ip ?? '',
      targetPort: port,
      closeError: denied ? 'forbidden' : '',
    };
  }
  const grpc = d.protocol === 'grpc';
  const backend: MetaRef | undefined = denied
    ? undefined
    : d.verdict === 'redirect' && d.backend
      ? (() => {
          const [svcNs = '', rest = ''] = d.backend.split('/');
          const [svcName = '', svcPort = ''] = rest.split(':');
          return { group: 'core', kind: 'Service', namespace: svcNs, name: svcName, port: svcPort };
        })()
      : { ...parent };
  return {
    protocol: grpc ? 'grpc' : 'http',
    parent,
    route,
    hostname: req.host,
    backend,
    status: grpc ? (denied ? 'PERMISSION_DENIED' : 'OK') : denied ? '403' : '200',
    error: '',
    seconds,
  };
}
