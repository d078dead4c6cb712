import fs from 'node:fs';
import { parseClusterNetworks } from '../manifests/validate.js';
import { decide, parseRequestUrl, type Decision } from '../policy/engine.js';
import { computeStatus } from '../policy/status.js';
import { DEFAULT_CLUSTER_NETWORKS, type PolicyObject } from '../policy/types.js';
import { startApiServer, type ApiServer } from './apiserver.js';
import { ProxySim, type MetaRef, type RouteMeta, type TrafficRecord } from './proxy-sim.js';
import { SERVED, type ServedResource } from './resources.js';
import { serverTime, type StoredObject } from './store.js';
import { World } from './world.js';

/**
 * `egressctl sandbox`: a simulated cluster in one process. The API server of the test bed, the Linkerd
 * egress guide's world, a policy controller that writes status like Linkerd's, and simulated proxies
 * whose traffic goes through the policy engine using the objects stored at that moment. No packet
 * leaves the process.
 */

/** The guide's loops (and a gRPC and a TCP destination), at documentation addresses (RFC 5737). */
export const DESTINATIONS: { url: string; ip: string }[] = [
  { url: 'http://httpbin.org/get', ip: '203.0.113.10' },
  { url: 'https://httpbin.org/ip', ip: '203.0.113.10' },
  { url: 'https://github.com', ip: '192.0.2.50' },
  { url: 'http://google.com/', ip: '203.0.113.30' },
  { url: 'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index', ip: '198.51.100.30' },
  { url: 'tcp://198.51.100.60:5432', ip: '198.51.100.60' },
];

export interface SandboxOptions {
  port?: number;
  tls?: boolean;
  scenario?: 'guide' | 'empty';
  /** Simulated client pods (`client`, `client-2`, …). */
  pods?: number;
  /** Requests per second per destination per pod. */
  rate?: number;
  /** Load objects from this file on start (if it exists). */
  statePath?: string | undefined;
  tickMs?: number;
}

export interface Sandbox {
  server: ApiServer;
  world: World;
  /** Number of decisions made so far, by verdict (for waiting on a policy change to show). */
  counts(): Record<string, number>;
  /** The latest decision per destination URL (first client pod). */
  latest(): Map<string, Decision>;
  /** Saves every object to `path` (for --state). */
  save(path: string): void;
  stop(): Promise<void>;
}

const type = (kind: string, group = ''): ServedResource =>
  SERVED.find((r) => r.kind === kind && r.group === group) as ServedResource;
const POLICY_KINDS = SERVED.filter((r) =>
  ['EgressNetwork', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'Service'].includes(r.kind),
);

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

export async function startSandbox(o: SandboxOptions = {}): Promise<Sandbox> {
  const sims = new Map<string, ProxySim>();
  const simFor = (ns: string, pod: string): ProxySim => {
    let sim = sims.get(`${ns}/${pod}`);
    if (!sim) {
      sim = new ProxySim({ hostnameLabels: true, startTime: Date.now(), podIp: '10.42.0.2' });
      sims.set(`${ns}/${pod}`, sim);
    }
    return sim;
  };
  const server = await startApiServer({
    tls: o.tls ?? false,
    port: o.port ?? 0,
    token: 'sandbox-token',
    user: 'sandbox-user',
    // Every injected pod has a proxy; pods that send no simulated egress (internal-egress) get an idle one.
    metrics: (ns, pod) => simFor(ns, pod).render(Date.now()),
  });
  const world = new World(server.store);
  const clusterNetworks = parseClusterNetworks(DEFAULT_CLUSTER_NETWORKS);
  const store = server.store;

  if (o.statePath && fs.existsSync(o.statePath)) {
    const saved = JSON.parse(fs.readFileSync(o.statePath, 'utf8')) as StoredObject[];
    for (const obj of saved) {
      const r = SERVED.find(
        (x) => `${x.group ? `${x.group}/` : ''}${x.version}` === obj.apiVersion && x.kind === obj.kind,
      );
      if (r) store.load(r, obj);
    }
  } else if ((o.scenario ?? 'guide') === 'guide') {
    world.namespace('egress-test', {}, { 'config.linkerd.io/proxy-metrics-hostname-labels': 'true' });
    world.deployment('egress-test', 'internal-egress', { replicas: 1 });
    world.service('egress-test', 'internal-egress', { port: 80, selector: { app: 'internal-egress' } });
    store.apply(
      type('EgressNetwork', 'policy.linkerd.io'),
      'egress-test',
      'all-egress-traffic',
      {
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic', namespace: 'egress-test' },
        spec: { trafficPolicy: 'Allow' },
      },
      { fieldManager: 'kubectl', force: false, dryRun: false },
    );
  }
  const pods = o.pods ?? 1;
  const podNames: string[] = [];
  for (let i = 0; i < pods; i++) {
    const name = i === 0 ? 'client' : `client-${i + 1}`;
    const existing =
      store.get(type('Pod'), 'egress-test', name) ??
      world.pod('egress-test', name, {
        labels: { app: 'client' },
        annotations: { 'config.linkerd.io/proxy-metrics-hostname-labels': 'true' },
      });
    podNames.push(name);
    sims.set(
      `egress-test/${name}`,
      new ProxySim({
        hostnameLabels: true,
        startTime: Date.now(),
        podIp: String((existing.status as { podIP?: string } | undefined)?.podIP ?? '10.42.0.2'),
      }),
    );
  }

  // The policy controller: status for EgressNetworks and routes, rewritten when objects change.
  const reconcile = (): void => {
    const objects = POLICY_KINDS.flatMap((r) => store.list(r)) as unknown as PolicyObject[];
    const now = serverTime(Date.now());
    for (const [key, desired] of computeStatus(objects, { clusterNetworks, now })) {
      const [kind, rest] = key.split(' ') as [string, string];
      const [ns, name] = rest.split('/') as [string, string];
      const r = POLICY_KINDS.filter((x) => x.kind === kind);
      for (const rt of r) {
        const live = store.get(rt, ns, name);
        if (!live) continue;
        store.setStatus(rt, ns, name, keepTransitionTimes(live.status, desired));
      }
    }
  };
  let pending: NodeJS.Immediate | undefined;
  const onChange = (): void => {
    pending ??= setImmediate(() => {
      pending = undefined;
      reconcile();
    });
  };
  store.on('change', onChange);
  reconcile();

  // The traffic generator: every tick, each client sends to each destination at `rate` per second.
  const rate = o.rate ?? 5;
  const tickMs = o.tickMs ?? 200;
  const random = prng(0x5eed);
  const counts: Record<string, number> = {};
  const latest = new Map<string, Decision>();
  let carry = 0;
  const tick = (): void => {
    carry += (rate * tickMs) / 1000;
    const n = Math.floor(carry);
    carry -= n;
    if (n === 0) return;
    const objects = POLICY_KINDS.flatMap((r) => store.list(r)) as unknown as PolicyObject[];
    const input = {
      objects,
      clusterNetworks,
      globalNamespace: 'linkerd-egress',
      clientNamespace: 'egress-test',
      assumeAccepted: false,
    };
    for (const d of DESTINATIONS) {
      const req = parseRequestUrl(d.url, { ip: d.ip });
      const decision = decide(input, req);
      latest.set(d.url, decision);
      for (const podName of podNames) {
        const sim = sims.get(`egress-test/${podName}`) as ProxySim;
        for (let i = 0; i < n; i++) {
          sim.record(toRecord(decision, req, random));
          counts[decision.verdict] = (counts[decision.verdict] ?? 0) + 1;
        }
      }
    }
    for (const s of sims.values()) s.probe();
  };
  const timer = setInterval(tick, tickMs);
  tick();

  return {
    server,
    world,
    counts: () => ({ ...counts }),
    latest: () => new Map(latest),
    save: (path) => fs.writeFileSync(path, JSON.stringify(store.all(), null, 2)),
    stop: async () => {
      clearInterval(timer);
      if (pending) clearImmediate(pending);
      store.off('change', onChange);
      await server.close();
    },
  };
}

/** Keeps lastTransitionTime when a condition's status did not change (as controllers do). */
function keepTransitionTimes(
  live: Record<string, unknown> | undefined,
  desired: Record<string, unknown>,
): Record<string, unknown> {
  type C = { type: string; status: string; lastTransitionTime?: string };
  const keep = (old: C[] | undefined, next: C[]) =>
    next.map((c) => {
      const prev = old?.find((x) => x.type === c.type);
      return prev && prev.status === c.status ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
    });
  if (Array.isArray(desired.conditions))
    return { ...desired, conditions: keep(live?.conditions as C[] | undefined, desired.conditions as C[]) };
  if (Array.isArray(desired.parents)) {
    const oldParents = (live?.parents as { parentRef?: unknown; conditions?: C[] }[] | undefined) ?? [];
    return {
      ...desired,
      parents: (desired.parents as { parentRef?: unknown; conditions?: C[] }[]).map((p) => {
        const prev = oldParents.find((x) => JSON.stringify(x.parentRef) === JSON.stringify(p.parentRef));
        return p.conditions ? { ...p, conditions: keep(prev?.conditions, p.conditions) } : p;
      }),
    };
  }
  return desired;
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
