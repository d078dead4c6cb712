import { getPublicSuffix } from 'tldts';
import { routeOf } from '../kinds.js';
import {
  egressNetwork,
  parentRef,
  route,
  routeName,
  type Manifest,
  type RouteOptions,
  type RouteType,
} from '../manifests/build.js';
import { parseNetworkFlag } from '../manifests/validate.js';
import { flowKey, type EgressLedger, type LedgerFlow } from '../metrics/ledger.js';
import { parseIp, type Cidr } from '../net/cidr.js';
import { planFlows, proposeObjects, type PlanContext, type PlannedFlow } from './plan.js';
import { egressParents, ns, rules, type PolicyObject } from './types.js';

/**
 * `egress learn`: least privilege from observed traffic. For each client namespace of a ledger, an
 * EgressNetwork with `trafficPolicy: Deny`, plus the smallest set of routes under which every flow seen
 * as allowed or redirected stays so, with the same backend. Only constructs Linkerd enforces
 * (docs/semantics.md): HTTPRoute and GRPCRoute `hostnames` per port, TLSRoute SNI `hostnames` per port;
 * a TCPRoute takes every connection on its port and an Allow network every port, so one ip:port is
 * allowed by a more specific Deny EgressNetwork (`IP/32`) with a TCPRoute on that port (the most
 * specific network captures the address: linkerd2 `policy-controller/k8s/index/src/outbound/index.rs`).
 * Pure: `proveLearned` replays the proposal with `egress plan`'s engine before anything is printed.
 */

/** The annotation that carries an object's evidence: which pods, over which window, at what rate. */
export const LEARNED_FROM = 'egressctl.linkerd.io/learned-from';

/** The pod annotation without which the proxy's metrics name no host. */
export const HOSTNAME_LABELS = 'config.linkerd.io/proxy-metrics-hostname-labels';

export interface LearnOptions {
  clusterNetworks: Cidr[];
  /** `--wildcards N`: N or more sibling subdomains become `*.parent`; undefined: never. */
  wildcards: number | undefined;
  /** `--include-denied`: learn routes for denied flows too (they would open). */
  includeDenied: boolean;
  /** The network made in a namespace whose flows went through no network of its own. */
  defaultNetwork: string;
}

/** A flow the proposal does not keep, and why. */
export interface LeftOut {
  flow: LedgerFlow;
  reason: 'denied' | 'no-host' | 'no-address' | 'no-port' | 'fallback';
  message: string;
}

export interface Learned {
  /** The objects, in a stable order: per namespace, networks first, then routes by kind and name. */
  objects: Manifest[];
  /** The flows the proposal must keep as they are (allowed or redirected, same backend). */
  kept: LedgerFlow[];
  /** With --include-denied: denied flows the proposal opens. */
  opened: LedgerFlow[];
  leftOut: LeftOut[];
  notices: string[];
}

const KEPT = new Set(['allowed', 'redirected', 'failed', 'mixed']);

/** `ns/name:port` (a ledger's redirectTo) → the route backend `svc/name:port`, in the route's namespace. */
function backendOf(f: LedgerFlow): string {
  if (f.verdict !== 'redirected' || !f.redirectTo || f.redirectTo === '*') return 'egress';
  const m = /^([^/]+)\/([^:]+):(\d+)$/.exec(f.redirectTo);
  return m ? `svc/${m[2]}:${m[3]}` : 'egress';
}

/** A current route is path-limited when some rule matches on more than the host. */
function pathLimited(o: PolicyObject): boolean {
  return rules(o).some((r) => ((r.matches as unknown[] | undefined) ?? []).length > 0);
}

/** Replaces N or more sibling hosts (`a.D`, `b.D`) by `*.D`, never over a public suffix. */
export function wildcardHosts(hosts: string[], n: number | undefined): string[] {
  const sorted = [...new Set(hosts.map((h) => h.toLowerCase()))].sort();
  if (n === undefined) return sorted;
  const byParent = new Map<string, string[]>();
  for (const h of sorted) {
    if (h.startsWith('*.')) continue;
    const dot = h.indexOf('.');
    if (dot < 0) continue;
    const parent = h.slice(dot + 1);
    byParent.set(parent, [...(byParent.get(parent) ?? []), h]);
  }
  const wild = [...byParent]
    .filter(([parent, kids]) => kids.length >= n && parent.includes('.') && !isPublicSuffix(parent))
    .map(([parent]) => parent);
  const covered = (h: string) => wild.some((p) => h.endsWith(`.${p}`));
  return [...new Set([...sorted.filter((h) => !covered(h)), ...wild.map((p) => `*.${p}`)])].sort();
}

/** The public suffix list (ICANN and private sections: `github.io` is as public as `co.uk`). */
export function isPublicSuffix(domain: string): boolean {
  return getPublicSuffix(domain, { allowPrivateDomains: true }) === domain;
}

/** The words of an object's evidence, from the flows it serves. */
function evidence(flows: LedgerFlow[], ledger: EgressLedger): string {
  const pods = new Set(flows.flatMap((f) => f.client.pods));
  const workloads = [...new Set(flows.map((f) => `${f.client.workload.kind}/${f.client.workload.name}`))];
  const w = ledger.window;
  const window = w.start === null ? `totals until ${w.end}` : `${w.start}/${w.end}`;
  const rated = flows.every((f) => f.rate !== null);
  const rate = rated
    ? `${Math.round(flows.reduce((a, f) => a + (f.rate ?? 0), 0) * 1000) / 1000}/s`
    : `${flows.reduce((a, f) => a + (f.protocol === 'http' || f.protocol === 'grpc' ? f.counts.requests : f.counts.connections), 0)} total`;
  const shown = workloads.slice(0, 5).join(',') + (workloads.length > 5 ? `,+${workloads.length - 5}` : '');
  return `pods=${pods.size} workloads=${shown} window=${window} rate=${rate}`;
}

const annotate = (m: Manifest, text: string): Manifest => ({
  ...m,
  metadata: { ...m.metadata, annotations: { [LEARNED_FROM]: text } },
});

const hostPrefix = (ip: string) => (parseIp(ip)?.family === 6 ? `${ip}/128` : `${ip}/32`);

function splitAddress(destination: string): { ip: string; port: number } | undefined {
  const m = /^\[?([0-9a-fA-F:.]+?)\]?:(\d+)$/.exec(destination);
  return m?.[1] && m[2] ? { ip: m[1], port: Number(m[2]) } : undefined;
}

/**
 * The proposal for a ledger, given the current objects (path-limited routes that took flows are
 * copied from them as they are). Throws InvalidInput (from the builders) only for addresses Linkerd
 * would reject, such as an IP inside the cluster networks.
 */
export function learnPolicy(ledger: EgressLedger, current: PolicyObject[], o: LearnOptions): Learned {
  const leftOut: LeftOut[] = [];
  const kept: LedgerFlow[] = [];
  const opened: LedgerFlow[] = [];
  const notices = [...ledger.notices];
  const learnable: LedgerFlow[] = [];
  for (const f of ledger.flows) {
    const denied = !KEPT.has(f.verdict);
    if (denied && !o.includeDenied) {
      leftOut.push({
        flow: f,
        reason: 'denied',
        message: 'denied in the window: left out (--include-denied to allow it)',
      });
      continue;
    }
    if (f.network === null || f.port === null) {
      leftOut.push({
        flow: f,
        reason: f.network === null ? 'fallback' : 'no-port',
        message:
          f.network === null
            ? 'no EgressNetwork captured it (egress-fallback, whose metrics carry no port): cannot learn a route for it'
            : 'the metrics carry no port for it: cannot learn a route for it',
      });
      continue;
    }
    if (f.protocol === 'tcp' ? !splitAddress(f.destination) : f.destination === '') {
      leftOut.push(
        f.protocol === 'tcp'
          ? { flow: f, reason: 'no-address', message: 'the metrics carry no ip:port for it: cannot learn it' }
          : {
              flow: f,
              reason: 'no-host',
              message: `hostname labels are off, so learning by host is impossible: set the annotation ${HOSTNAME_LABELS}: "true" on the pods (or namespace) and restart them; learning by IP still works for TCP`,
            },
      );
      continue;
    }
    (denied ? opened : kept).push(f);
    learnable.push(f);
  }
  if (leftOut.some((l) => l.reason === 'no-host'))
    notices.push(
      `learning by host is impossible where hostname labels are off: set ${HOSTNAME_LABELS}: "true" on the pods and restart them`,
    );
  const byId = new Map(current.map((c) => [`${c.kind}/${ns(c)}/${c.metadata.name}`, c]));
  const objects: Manifest[] = [];
  const namespaces = [...new Set(ledger.flows.map((f) => f.client.namespace))].sort();
  for (const namespace of namespaces) {
    const flows = learnable.filter((f) => f.client.namespace === namespace);
    // The flows' own networks in this namespace keep their names and blocks; flows through a network
    // elsewhere (the global one) get this namespace's default network, which then captures them first.
    const netName = (f: LedgerFlow) =>
      f.network && f.network.namespace === namespace ? f.network.name : o.defaultNetwork;
    const networks = new Map<string, LedgerFlow[]>();
    for (const f of ledger.flows.filter((x) => x.client.namespace === namespace)) {
      const n = netName(f);
      const list = networks.get(n) ?? [];
      if (flows.includes(f)) list.push(f);
      networks.set(n, list);
    }
    const nsObjects: Manifest[] = [];
    for (const [name, served] of [...networks].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const live = byId.get(`EgressNetwork/${namespace}/${name}`);
      const net = egressNetwork({
        name,
        namespace,
        trafficPolicy: 'Deny',
        networks: [],
        clusterNetworks: o.clusterNetworks,
      });
      const blocks = live?.spec?.networks;
      if (Array.isArray(blocks) && blocks.length) net.spec.networks = structuredClone(blocks);
      nsObjects.push(annotate(net, evidence(served, ledger)));
    }
    const routes: Manifest[] = [];
    const copied = new Set<string>();
    // Host routes, one per (network, kind, port, backend).
    const groups = new Map<
      string,
      { type: RouteType; network: string; port: number; backend: string; flows: LedgerFlow[] }
    >();
    const tcp: LedgerFlow[] = [];
    for (const f of flows) {
      const network = netName(f);
      const r = f.route.default
        ? undefined
        : byId.get(`${f.route.kind}/${f.route.namespace}/${f.route.name}`);
      if (
        r &&
        f.route.namespace === namespace &&
        routeOf(r) !== undefined &&
        pathLimited(r) &&
        egressParents(r).some((p) => p.namespace === namespace && p.name === network)
      ) {
        // Path-limited and taking the flow today: kept as it is (metrics cannot say which paths were used).
        const key = `${r.kind}/${r.metadata.name}`;
        if (!copied.has(key)) {
          copied.add(key);
          routes.push(
            annotate(
              {
                apiVersion: r.apiVersion,
                kind: r.kind,
                metadata: {
                  name: r.metadata.name,
                  namespace,
                  ...(r.metadata.labels ? { labels: { ...r.metadata.labels } } : {}),
                },
                spec: structuredClone(r.spec ?? {}),
              },
              evidence(
                flows.filter((x) => x.route.kind === r.kind && x.route.name === r.metadata.name),
                ledger,
              ),
            ),
          );
        }
        continue;
      }
      if (f.protocol === 'tcp') {
        tcp.push(f);
        continue;
      }
      const type: RouteType = f.protocol;
      const backend = backendOf(f);
      const key = [network, type, f.port, backend].join('\u0000');
      const g = groups.get(key) ?? { type, network, port: f.port as number, backend, flows: [] };
      g.flows.push(f);
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      const svc = g.backend === 'egress' ? [] : ['to', g.backend.slice(4)];
      const hostnames = wildcardHosts(
        g.flows.map((f) => f.destination),
        o.wildcards,
      );
      const opts: RouteOptions = {
        type: g.type,
        name: routeName(
          ...(g.network === o.defaultNetwork ? [] : [g.network]),
          g.type,
          String(g.port),
          ...svc,
        ),
        namespace,
        network: g.network,
        networkNamespace: namespace,
        port: g.port,
        hostnames,
        pathType: 'PathPrefix',
        headers: [],
        backend: g.backend,
      };
      routes.push(annotate(route(opts), evidence(g.flows, ledger)));
    }
    // TCP: the IPs that share the same ports share one /32 network, with a TCPRoute per port.
    const ports = new Map<string, { ports: Set<number>; flows: LedgerFlow[] }>();
    for (const f of tcp) {
      const a = splitAddress(f.destination) as { ip: string; port: number };
      const e = ports.get(a.ip) ?? { ports: new Set<number>(), flows: [] };
      e.ports.add(f.port ?? a.port);
      e.flows.push(f);
      ports.set(a.ip, e);
    }
    const bySet = new Map<string, { ips: string[]; ports: number[]; flows: LedgerFlow[] }>();
    for (const [ip, e] of ports) {
      const list = [...e.ports].sort((a, b) => a - b);
      const key = list.join(',');
      const g = bySet.get(key) ?? { ips: [], ports: list, flows: [] };
      g.ips.push(ip);
      g.flows.push(...e.flows);
      bySet.set(key, g);
    }
    for (const g of [...bySet.values()].sort((a, b) => a.ports.join(',').localeCompare(b.ports.join(',')))) {
      const name = routeName('tcp', ...g.ports.map(String));
      const net = egressNetwork({
        name,
        namespace,
        trafficPolicy: 'Deny',
        networks: g.ips.sort().map((ip) => parseNetworkFlag('learned address', hostPrefix(ip))),
        clusterNetworks: o.clusterNetworks,
      });
      nsObjects.push(annotate(net, evidence(g.flows, ledger)));
      for (const port of g.ports) {
        const served = g.flows.filter((f) => f.port === port);
        const backends = [...new Set(served.map(backendOf))];
        routes.push(
          annotate(
            route({
              type: 'tcp',
              name: g.ports.length === 1 ? name : routeName(name, String(port)),
              namespace,
              network: name,
              networkNamespace: namespace,
              port,
              hostnames: [],
              pathType: 'PathPrefix',
              headers: [],
              backend: backends.length === 1 ? (backends[0] as string) : 'egress',
            }),
            evidence(served, ledger),
          ),
        );
      }
    }
    // A /32 network captures every connection to its address, HTTP and TLS to the hosts behind it too,
    // and metrics never say which address a host resolved to: so every host route learned here also
    // attaches to each learned address network, on the ports where that network has no TCPRoute (a
    // TCPRoute and a host route on one port conflict: src/policy/conflicts.ts).
    const tcpNets = [...bySet.values()].map((g) => ({
      name: routeName('tcp', ...g.ports.map(String)),
      ports: g.ports,
    }));
    const extra: Manifest[] = [];
    for (const r of routes) {
      if (r.kind === 'TCPRoute' || copied.has(`${r.kind}/${r.metadata.name}`)) continue;
      const refs = r.spec.parentRefs as { port: number }[];
      const port = refs[0]?.port as number;
      for (const t of tcpNets) {
        if (t.ports.includes(port)) continue;
        if (r.kind !== 'TLSRoute') refs.push(parentRef(t.name, namespace, port));
        else {
          // A TLSRoute forwards to its parent EgressNetwork by naming it as backend, and a backend that
          // is not the parent is refused (ResolvedRefs=False): one TLSRoute per address network.
          const copy = structuredClone(r);
          copy.metadata.name = routeName(r.metadata.name, 'via', t.name);
          copy.spec.parentRefs = [parentRef(t.name, namespace, port)];
          for (const rule of copy.spec.rules as { backendRefs?: { name: string }[] }[])
            for (const b of rule.backendRefs ?? []) b.name = t.name;
          extra.push(copy);
        }
      }
    }
    routes.push(...extra);
    const kindOrder = (m: Manifest) => `${m.kind}/${m.metadata.name}`;
    objects.push(...nsObjects, ...routes.sort((a, b) => (kindOrder(a) < kindOrder(b) ? -1 : 1)));
  }
  return { objects, kept, opened, leftOut, notices };
}

/** A kept flow the proposal would not keep: `learn`'s own bug, named. */
export interface Unproven {
  flow: LedgerFlow;
  why: string;
  /** The current objects do not reproduce the flow: it cannot be proven either way (a warning, not a bug). */
  unverifiable?: true;
}

/**
 * Replays the ledger against the proposal (each client namespace's policy replaced by it, as
 * `egress plan --replace` does) and returns every kept flow that would break, be uncertain, or go to
 * another backend or verdict (a bug in learn), and those the current objects do not reproduce
 * (`unverifiable`: a warning). Empty when the proposal is proven.
 */
export function proveLearned(
  ledger: EgressLedger,
  current: PolicyObject[],
  learned: Learned,
  ctx: PlanContext & { namespace: string },
): Unproven[] {
  const { objects } = proposeObjects(current, learned.objects, {
    mode: 'replace',
    namespace: ctx.namespace,
  });
  const report = planFlows(ledger, current, objects, ctx);
  const byKey = new Map<string, PlannedFlow>(report.flows.map((p) => [flowKey(p.flow.client, p.flow), p]));
  const out: Unproven[] = [];
  for (const f of learned.kept) {
    const p = byKey.get(flowKey(f.client, f));
    if (!p) continue;
    if (p.change === 'break')
      out.push({ flow: f, why: `it would be denied: ${p.proposed?.effect ?? ''}`.trim() });
    else if (p.change === 'uncertain' && p.current === null)
      // Not learn's to prove: the current objects do not reproduce what the proxy reported (the policy
      // changed since, or a route is not Accepted), so no replay can say what the flow was.
      out.push({ flow: f, unverifiable: true, why: p.reasons.join('; ') });
    else if (p.change === 'uncertain')
      out.push({ flow: f, why: `its fate is uncertain: ${p.reasons.join('; ')}` });
    else if (
      p.change === 'reroute' &&
      (p.current?.verdict !== p.proposed?.verdict || p.current?.backend !== p.proposed?.backend)
    )
      out.push({
        flow: f,
        why: `it would go to ${p.proposed?.backend ?? 'nothing'} (${p.proposed?.verdict ?? '?'}) instead of ${p.current?.backend ?? 'nothing'} (${p.current?.verdict ?? '?'})`,
      });
  }
  return out;
}
