/**
 * `egress plan` benchmark: 10,000 observed flows replayed against 500 current and 500+ proposed objects
 * (50 namespaces, each an EgressNetwork, 8 HTTPRoutes with path matches and a TLSRoute; 10 workloads a
 * namespace, each calling 20 destinations over HTTP, TLS and TCP). The proposal changes every namespace
 * (Deny, plus one more path-limited route), so no namespace takes the unchanged shortcut. Prints the
 * wall time of building the proposal and the plan. Target: under 1 s.
 *
 *   node --import tsx bench/plan.ts [rounds]
 */
import os from 'node:os';
import { parseClusterNetworks } from '../src/manifests/validate.js';
import type { EgressLedger, LedgerFlow } from '../src/metrics/ledger.js';
import { planFlows, proposeObjects } from '../src/policy/plan.js';
import type { PolicyObject } from '../src/policy/types.js';

const rounds = Number(process.argv[2] ?? 3);
const NAMESPACES = 50;
const WORKLOADS = 10;
const CLUSTER = parseClusterNetworks('10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');

const parent = (ns: string, port: number) => [
  { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic', namespace: ns, port },
];
const network = (ns: string, trafficPolicy: string): PolicyObject => ({
  apiVersion: 'policy.linkerd.io/v1alpha1',
  kind: 'EgressNetwork',
  metadata: { name: 'all-egress-traffic', namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { trafficPolicy },
});
const httpRoute = (ns: string, i: number, path: string): PolicyObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: `api-${i}`, namespace: ns, creationTimestamp: `2026-01-02T00:00:0${i}Z` },
  spec: {
    parentRefs: parent(ns, 80),
    hostnames: [`api-${i}.example.com`],
    rules: [
      { matches: [{ path: { type: 'PathPrefix', value: path } }] },
      { matches: [{ path: { type: 'Exact', value: '/health' }, method: 'GET' }] },
    ],
  },
});
const tlsRoute = (ns: string): PolicyObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1alpha2',
  kind: 'TLSRoute',
  metadata: { name: 'tls', namespace: ns, creationTimestamp: '2026-01-03T00:00:00Z' },
  spec: { parentRefs: parent(ns, 443), hostnames: ['secure.example.com'], rules: [{}] },
});

const current: PolicyObject[] = [];
const files: PolicyObject[] = [];
const flows: LedgerFlow[] = [];
const dflt = (name: string) => ({ kind: 'default', namespace: '', name, default: true });
for (let n = 0; n < NAMESPACES; n++) {
  const ns = `team-${n}`;
  current.push(network(ns, 'Allow'), tlsRoute(ns));
  for (let i = 0; i < 8; i++) current.push(httpRoute(ns, i, `/v${i}`));
  files.push(network(ns, 'Deny'), httpRoute(ns, 9, '/v9'));
  for (let w = 0; w < WORKLOADS; w++) {
    const base = {
      client: {
        namespace: ns,
        workload: { kind: 'deployment' as const, name: `svc-${w}` },
        pods: [`${ns}/svc-${w}-x`],
      },
      network: { namespace: ns, name: 'all-egress-traffic' },
      verdict: 'allowed' as const,
      redirectTo: null,
      counts: { requests: 100, connections: 0, denied: 0, failed: 0 },
      rate: 10,
      firstSeen: '2026-12-01T00:00:00.000Z',
      lastSeen: '2026-12-01T00:00:10.000Z',
    };
    for (let i = 0; i < 8; i++)
      flows.push({
        ...base,
        port: 80,
        protocol: 'http',
        destination: `api-${i}.example.com`,
        route: { kind: 'HTTPRoute', namespace: ns, name: `api-${i}`, default: false },
      });
    for (let i = 0; i < 6; i++)
      flows.push({
        ...base,
        port: 80,
        protocol: 'http',
        destination: `other-${w}-${i}.example.net`,
        route: dflt('http-egress-allow'),
      });
    flows.push({
      ...base,
      port: 443,
      protocol: 'tls',
      destination: 'secure.example.com',
      route: { kind: 'TLSRoute', namespace: ns, name: 'tls', default: false },
    });
    flows.push({
      ...base,
      port: 8443,
      protocol: 'tcp',
      destination: `203.0.113.${w}:8443`,
      route: dflt('tcp-egress-allow'),
    });
    for (let i = 0; i < 4; i++)
      flows.push({
        ...base,
        port: 5432,
        protocol: 'tcp',
        destination: `198.51.100.${w * 4 + i}:5432`,
        route: dflt('tcp-egress-allow'),
      });
  }
}
const ledger: EgressLedger = {
  apiVersion: 'egressctl.linkerd.io/v1',
  kind: 'EgressLedger',
  schemaVersion: 1,
  source: { kind: 'file', path: 'bench' },
  window: { start: '2026-12-01T00:00:00.000Z', end: '2026-12-01T00:00:10.000Z', seconds: 10 },
  notices: [],
  flows,
};
const ctx = { clusterNetworks: CLUSTER, globalNamespace: 'linkerd-egress', currentAssumeAccepted: true };
console.log(
  `${flows.length} flows, ${current.length} current objects, ${files.length} files (load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} CPUs)`,
);
let best = Infinity;
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const { objects, changes } = proposeObjects(current, files, { mode: 'apply', namespace: 'default' });
  const plan = planFlows(ledger, current, objects, ctx, changes);
  const ms = performance.now() - t0;
  best = Math.min(best, ms);
  const s = plan.summary;
  console.log(
    `round ${r + 1}: ${ms.toFixed(0)} ms (break ${s.break.flows}, uncertain ${s.uncertain.flows}, reroute ${s.reroute.flows}, open ${s.open.flows}, unchanged ${s.unchanged.flows})`,
  );
}
console.log(`best of ${rounds}: ${best.toFixed(0)} ms (target: under 1000 ms)`);
