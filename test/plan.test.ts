// The planner (src/policy/plan.ts) against cases worked out by hand from the rules in docs/semantics.md:
// each expectation below says which rule gives it, so that a wrong engine cannot make its own plan pass.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterNetworks } from '../src/manifests/validate.js';
import {
  mergeLedgers,
  parseLedger,
  toLedger,
  workloadOf,
  type EgressLedger,
  type LedgerFlow,
} from '../src/metrics/ledger.js';
import { toStatWindow } from '../src/metrics/stat.js';
import { isEgressFamily } from '../src/metrics/egress.js';
import { parseMetrics } from '../src/metrics/parse.js';
import { parseManifests } from '../src/policy/load.js';
import { planFlows, proposeObjects, type PlanChange, type PlanReport } from '../src/policy/plan.js';
import type { PolicyObject } from '../src/policy/types.js';
import { ProxySim } from '../src/sandbox/proxy-sim.js';

const CLUSTER = parseClusterNetworks('10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');
const CTX = { clusterNetworks: CLUSTER, globalNamespace: 'linkerd-egress', currentAssumeAccepted: true };
const NS = 'egress-test';

const y = (text: string): PolicyObject[] => parseManifests(text, 'test.yaml');

const network = (policy: 'Allow' | 'Deny', name = 'all-egress-traffic', extra = '') => `
apiVersion: policy.linkerd.io/v1alpha1
kind: EgressNetwork
metadata: {name: ${name}, namespace: ${NS}, creationTimestamp: '2026-01-01T00:00:00Z'}
spec:
  trafficPolicy: ${policy}
${extra}
---`;

const httpRoute = (name: string, host: string, rulesYaml = '  rules: [{}]', port = 80) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: ${NS}, creationTimestamp: '2026-01-02T00:00:00Z'}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: EgressNetwork, name: all-egress-traffic, port: ${port}}]
  hostnames: [${host}]
${rulesYaml}
---`;

let n = 0;
function flow(
  o: Partial<LedgerFlow> & Pick<LedgerFlow, 'protocol' | 'destination' | 'port' | 'route'>,
): LedgerFlow {
  n++;
  return {
    client: {
      namespace: NS,
      workload: { kind: 'deployment', name: `client${n}` },
      pods: [`${NS}/client${n}-abc`],
    },
    network: { namespace: NS, name: 'all-egress-traffic' },
    verdict: 'allowed',
    redirectTo: null,
    counts: {
      requests: o.protocol === 'http' || o.protocol === 'grpc' ? 10 : 0,
      connections: o.protocol === 'tcp' || o.protocol === 'tls' ? 10 : 0,
      denied: 0,
      failed: 0,
    },
    rate: 1,
    firstSeen: '2026-12-01T00:00:00.000Z',
    lastSeen: '2026-12-01T00:00:10.000Z',
    ...o,
  };
}

const dflt = (name: string) => ({ kind: 'default', namespace: '', name, default: true });
const route = (kind: string, name: string) => ({ kind, namespace: NS, name, default: false });

function ledger(flows: LedgerFlow[]): EgressLedger {
  return {
    apiVersion: 'egressctl.linkerd.io/v1',
    kind: 'EgressLedger',
    schemaVersion: 1,
    source: { kind: 'file', path: 'test.json' },
    window: { start: '2026-12-01T00:00:00.000Z', end: '2026-12-01T00:00:10.000Z', seconds: 10 },
    notices: [],
    flows,
  };
}

function plan(
  flows: LedgerFlow[],
  current: string,
  files: string,
  mode: 'apply' | 'replace' = 'apply',
): PlanReport {
  const cur = y(current);
  const { objects, changes } = proposeObjects(cur, y(files), { mode, namespace: NS });
  return planFlows(ledger(flows), cur, objects, CTX, changes);
}

const changeOf = (r: PlanReport, destination: string): PlanChange | undefined =>
  r.flows.find((p) => p.flow.destination === destination)?.change;

const httpbin = () =>
  flow({ protocol: 'http', destination: 'httpbin.org', port: 80, route: dflt('http-egress-allow') });
const stripeTcp = () =>
  flow({ protocol: 'tcp', destination: '203.0.113.10:443', port: 443, route: dflt('tcp-egress-allow') });

describe('plan: hand-worked cases', () => {
  test('Allow → Deny breaks every allowed flow: the default route follows trafficPolicy', () => {
    // docs/semantics.md "Matching": after user routes comes the default route of the network's
    // trafficPolicy; with no routes, Deny sends every HTTP request to http-egress-deny (403) and every
    // opaque connection to tcp-egress-deny (closed).
    const r = plan([httpbin(), stripeTcp()], network('Allow'), network('Deny'));
    assert.deepEqual(r.objects, [
      { action: 'update', kind: 'EgressNetwork', namespace: NS, name: 'all-egress-traffic' },
    ]);
    assert.equal(changeOf(r, 'httpbin.org'), 'break');
    assert.equal(changeOf(r, '203.0.113.10:443'), 'break');
    const h = r.flows.find((p) => p.flow.destination === 'httpbin.org');
    assert.equal(h?.current?.route?.name, 'http-egress-allow');
    assert.equal(h?.proposed?.route?.name, 'http-egress-deny');
    assert.equal(h?.proposed?.effect, 'HTTP 403 "traffic not allowed"');
    assert.deepEqual(r.summary.break, { flows: 2, volume: 20, rate: 2 });
    assert.equal(r.summary.unchanged.flows, 0);
  });

  test('Deny plus an HTTPRoute for the host keeps it (rerouted to the route, same destination)', () => {
    // A route with the flow's hostname and no matches takes every request to that host (a rule without
    // matches matches every path); no backendRefs forwards to the original destination.
    const r = plan([httpbin()], network('Allow'), network('Deny') + httpRoute('httpbin', 'httpbin.org'));
    const p = r.flows[0];
    assert.equal(p?.change, 'reroute');
    assert.equal(p?.proposed?.verdict, 'allow');
    assert.deepEqual(p?.proposed?.route, {
      kind: 'HTTPRoute',
      namespace: NS,
      name: 'httpbin',
      default: false,
      rule: 1,
    });
    assert.equal(p?.proposed?.backend, 'original destination');
  });

  test('an HTTPRoute for another host does not keep it', () => {
    const r = plan([httpbin()], network('Allow'), network('Deny') + httpRoute('other', 'example.com'));
    assert.equal(changeOf(r, 'httpbin.org'), 'break');
  });

  test('a path-limited proposed route makes the flow uncertain: metrics carry no path', () => {
    // /get goes to the route (allow), every other path to http-egress-deny: which one the observed
    // requests were, the route metrics do not say.
    const r = plan(
      [httpbin()],
      network('Allow'),
      network('Deny') +
        httpRoute(
          'httpbin-get',
          'httpbin.org',
          '  rules: [{matches: [{path: {type: PathPrefix, value: /get}}]}]',
        ),
    );
    const p = r.flows[0];
    assert.equal(p?.change, 'uncertain');
    assert.equal(p?.proposed, null);
    assert.match(
      p?.reasons[0] ?? '',
      /depends on the path, method or headers, which route metrics do not carry/,
    );
    assert.deepEqual(
      p?.alternatives.map((a) => [a.request, a.outcome.verdict, a.outcome.route?.name]),
      [
        ['/<any other path>', 'deny', 'http-egress-deny'],
        ['/get', 'allow', 'httpbin-get'],
      ],
    );
  });

  test('a current path-limited route that survives unchanged keeps its verdict certain', () => {
    // The flow was reported on route httpbin-get, so every request of it matched /get. The routes for
    // httpbin.org are the same in the proposal, so the same route takes them: certain, even though the
    // network goes Deny (which breaks the flow on the default route).
    const routes = httpRoute(
      'httpbin-get',
      'httpbin.org',
      '  rules: [{matches: [{path: {type: PathPrefix, value: /get}}]}]',
    );
    const onRoute = flow({
      protocol: 'http',
      destination: 'httpbin.org',
      port: 80,
      route: route('HTTPRoute', 'httpbin-get'),
    });
    const onDefault = flow({
      protocol: 'http',
      destination: 'example.com',
      port: 80,
      route: dflt('http-egress-allow'),
    });
    const r = plan([onRoute, onDefault], network('Allow') + routes, network('Deny'));
    assert.equal(changeOf(r, 'httpbin.org'), 'unchanged');
    assert.equal(
      r.flows.find((p) => p.flow.destination === 'httpbin.org')?.proposed?.route?.name,
      'httpbin-get',
    );
    assert.equal(changeOf(r, 'example.com'), 'break');
  });

  test('a longer proposed prefix under the current route makes it uncertain', () => {
    // Current: /get takes the flow. Proposed adds /get/admin → a Service that does not exist (500):
    // requests under /get/admin would fail, others not. Path length decides (docs/semantics.md).
    const cur =
      network('Deny') +
      httpRoute(
        'httpbin-get',
        'httpbin.org',
        '  rules: [{matches: [{path: {type: PathPrefix, value: /get}}]}]',
      );
    const onRoute = flow({
      protocol: 'http',
      destination: 'httpbin.org',
      port: 80,
      route: route('HTTPRoute', 'httpbin-get'),
    });
    const r = plan(
      [onRoute],
      cur,
      httpRoute(
        'admin',
        'httpbin.org',
        '  rules: [{matches: [{path: {type: PathPrefix, value: /get/admin}}], backendRefs: [{name: nope, port: 80}]}]',
      ),
    );
    assert.equal(r.flows[0]?.change, 'uncertain');
    assert.deepEqual(
      r.flows[0]?.alternatives.map((a) => [a.request, a.outcome.verdict, a.outcome.route?.name]),
      [
        ['/get', 'allow', 'httpbin-get'],
        ['/get/admin', 'deny', 'admin'],
      ],
    );
  });

  test('a TLSRoute decides by SNI: the route kept, another SNI denied, a new one opened', () => {
    // docs/semantics.md: TLS routes match by SNI alone, so a route for github.com opens github.com and
    // leaves api.stripe.com on its own route. Removing the only TLSRoute (--replace with the network
    // alone) leaves port 443 without a TLS route: the handshake is opaque TCP, and tcp-egress-deny
    // closes it.
    const tls = (name: string, host: string) => `
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: ${name}, namespace: ${NS}, creationTimestamp: '2026-01-03T00:00:00Z'}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: EgressNetwork, name: all-egress-traffic, port: 443}]
  hostnames: [${host}]
  rules: [{}]
---`;
    const stripe = flow({
      protocol: 'tls',
      destination: 'api.stripe.com',
      port: 443,
      route: route('TLSRoute', 'stripe'),
    });
    const github = flow({
      protocol: 'tls',
      destination: 'github.com',
      port: 443,
      route: dflt('tls-egress-deny'),
      verdict: 'denied',
    });
    const cur = network('Deny') + tls('stripe', 'api.stripe.com');
    const opened = plan([stripe, github], cur, tls('github', 'github.com'));
    assert.equal(changeOf(opened, 'api.stripe.com'), 'unchanged');
    assert.equal(changeOf(opened, 'github.com'), 'open');
    assert.equal(
      opened.flows.find((p) => p.flow.destination === 'github.com')?.proposed?.route?.name,
      'github',
    );
    const removed = plan([stripe, github], cur, network('Deny'), 'replace');
    assert.deepEqual(
      removed.objects.map((o) => `${o.action} ${o.kind}/${o.name}`),
      ['delete TLSRoute/stripe', 'unchanged EgressNetwork/all-egress-traffic'],
    );
    assert.equal(changeOf(removed, 'api.stripe.com'), 'break');
    assert.equal(
      removed.flows.find((p) => p.flow.destination === 'api.stripe.com')?.proposed?.route?.name,
      'tcp-egress-deny',
    );
    assert.equal(changeOf(removed, 'github.com'), 'unchanged');
  });

  test('a TCPRoute takes every connection on its port, and no other port', () => {
    // Port 5432 is opaque by default; one TCPRoute per port takes all of it (docs/semantics.md).
    const pg = flow({
      protocol: 'tcp',
      destination: '198.51.100.7:5432',
      port: 5432,
      route: dflt('tcp-egress-deny'),
      verdict: 'denied',
    });
    const redis = flow({
      protocol: 'tcp',
      destination: '198.51.100.7:6379',
      port: 6379,
      route: dflt('tcp-egress-deny'),
      verdict: 'denied',
    });
    const tcpRoute = `
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: postgres, namespace: ${NS}}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: EgressNetwork, name: all-egress-traffic, port: 5432}]
  rules: [{}]`;
    const r = plan([pg, redis], network('Deny'), tcpRoute);
    assert.equal(changeOf(r, '198.51.100.7:5432'), 'open');
    assert.equal(changeOf(r, '198.51.100.7:6379'), 'unchanged');
  });

  test('an IP/32 Deny network with a TCPRoute allows that ip:port and nothing else', () => {
    // The construct `learn` proposes for TCP: the smallest block wins (docs/semantics.md), so the /32
    // network takes 203.0.113.10; its TCPRoute takes port 5432; other ports of it hit tcp-egress-deny;
    // other IPs stay with the broad network, now Deny.
    const ip =
      network('Deny', 'ip-203-0-113-10', '  networks: [{cidr: 203.0.113.10/32}]') +
      `
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: ip-203-0-113-10-5432, namespace: ${NS}}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: EgressNetwork, name: ip-203-0-113-10, port: 5432}]
  rules: [{}]`;
    const keep = flow({
      protocol: 'tcp',
      destination: '203.0.113.10:5432',
      port: 5432,
      route: dflt('tcp-egress-allow'),
    });
    const otherPort = flow({
      protocol: 'tcp',
      destination: '203.0.113.10:6379',
      port: 6379,
      route: dflt('tcp-egress-allow'),
    });
    const otherIp = flow({
      protocol: 'tcp',
      destination: '203.0.113.11:5432',
      port: 5432,
      route: dflt('tcp-egress-allow'),
    });
    const r = plan([keep, otherPort, otherIp], network('Allow'), network('Deny') + ip);
    const k = r.flows.find((p) => p.flow.destination === '203.0.113.10:5432');
    assert.equal(k?.change, 'reroute');
    assert.deepEqual(k?.proposed?.network, { namespace: NS, name: 'ip-203-0-113-10', trafficPolicy: 'Deny' });
    assert.equal(k?.proposed?.route?.name, 'ip-203-0-113-10-5432');
    assert.equal(changeOf(r, '203.0.113.10:6379'), 'break');
    assert.equal(changeOf(r, '203.0.113.11:5432'), 'break');
  });

  test('a redirect to a Service is rerouted; a missing Service breaks', () => {
    // A Service backend (with its port) redirects into the cluster; a missing one gives 500.
    const svc = `
apiVersion: v1
kind: Service
metadata: {name: httpbin-mirror, namespace: ${NS}}
spec: {clusterIP: 10.96.0.50, ports: [{port: 80}]}
---`;
    const to = (name: string) =>
      httpRoute('mirror', 'httpbin.org', `  rules: [{backendRefs: [{name: ${name}, port: 80}]}]`);
    const r = plan([httpbin()], network('Allow') + svc, to('httpbin-mirror'));
    const p = r.flows[0];
    assert.equal(p?.change, 'reroute');
    assert.equal(p?.proposed?.verdict, 'redirect');
    assert.equal(p?.proposed?.backend, `${NS}/httpbin-mirror:80`);
    assert.equal(changeOf(plan([httpbin()], network('Allow'), to('missing')), 'httpbin.org'), 'break');
  });

  test('a local network shadows the global one', () => {
    // docs/semantics.md: a namespace's own EgressNetwork hides every global one.
    const global = `
apiVersion: policy.linkerd.io/v1alpha1
kind: EgressNetwork
metadata: {name: global, namespace: linkerd-egress}
spec: {trafficPolicy: Allow}
---`;
    const f = flow({
      protocol: 'http',
      destination: 'httpbin.org',
      port: 80,
      route: dflt('http-egress-allow'),
      network: { namespace: 'linkerd-egress', name: 'global' },
    });
    const r = plan([f], global, network('Deny'));
    assert.equal(r.flows[0]?.change, 'break');
    assert.deepEqual(r.flows[0]?.proposed?.network, {
      namespace: NS,
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
    });
  });

  test('a flow the current objects do not reproduce is uncertain, never guessed', () => {
    const f = flow({
      protocol: 'http',
      destination: 'httpbin.org',
      port: 80,
      route: route('HTTPRoute', 'gone'),
    });
    const r = plan([f], network('Allow'), network('Deny'));
    assert.equal(r.flows[0]?.change, 'uncertain');
    assert.match(r.flows[0]?.reasons[0] ?? '', /do not send this flow where the proxy reported it/);
  });

  test('hostname labels off: uncertain, naming the annotation; unchanged when nothing changes', () => {
    const f = flow({ protocol: 'http', destination: '', port: 80, route: dflt('http-egress-allow') });
    const r = plan([f], network('Allow'), network('Deny'));
    assert.equal(r.flows[0]?.change, 'uncertain');
    assert.match(r.flows[0]?.reasons[0] ?? '', /config\.linkerd\.io\/proxy-metrics-hostname-labels/);
    assert.equal(plan([f], network('Allow'), network('Allow')).flows[0]?.change, 'unchanged');
  });

  test('an opaque connection on a port the proposal makes TLS is uncertain (its SNI is unknown)', () => {
    const tls = `
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: stripe, namespace: ${NS}}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: EgressNetwork, name: all-egress-traffic, port: 443}]
  hostnames: [api.stripe.com]
  rules: [{}]`;
    const r = plan([stripeTcp()], network('Allow'), network('Deny') + tls);
    assert.equal(r.flows[0]?.change, 'uncertain');
    assert.ok(
      r.flows[0]?.reasons.some((x) => /speak tls: TCP metrics do not say/.test(x)),
      r.flows[0]?.reasons.join('\n'),
    );
  });

  test('a regex match in changing routes is uncertain; a sample is replayed when routes stay', () => {
    const regex = httpRoute(
      're',
      'httpbin.org',
      '  rules: [{matches: [{path: {type: RegularExpression, value: "/v[0-9]+/.*"}}]}]',
    );
    const onRe = flow({
      protocol: 'http',
      destination: 'httpbin.org',
      port: 80,
      route: route('HTTPRoute', 're'),
    });
    const changed = plan(
      [onRe],
      network('Deny') + regex,
      httpRoute('other', 'httpbin.org', '  rules: [{matches: [{path: {type: Exact, value: /v1/x}}]}]'),
    );
    assert.equal(changed.flows[0]?.change, 'uncertain');
    assert.match(changed.flows[0]?.reasons.join('\n') ?? '', /matches by regular expression/);
    const kept = plan([onRe], network('Deny') + regex, network('Deny') + httpRoute('x', 'example.com'));
    assert.equal(kept.flows[0]?.change, 'unchanged');
  });

  test('apply replaces by group, kind, namespace and name; server-side apply keeps unset fields', () => {
    const cur = y(network('Allow', 'all-egress-traffic', '  networks: [{cidr: 0.0.0.0/0}]'));
    const file = y(network('Deny'));
    const applied = proposeObjects(cur, file, { mode: 'apply', namespace: NS }).objects[0];
    assert.equal(applied?.spec?.networks, undefined);
    assert.equal(applied?.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
    const merged = proposeObjects(cur, file, { mode: 'server-side-apply', namespace: NS }).objects[0];
    assert.deepEqual(merged?.spec, { trafficPolicy: 'Deny', networks: [{ cidr: '0.0.0.0/0' }] });
    const placed = proposeObjects(
      [],
      y(
        'apiVersion: policy.linkerd.io/v1alpha1\nkind: EgressNetwork\nmetadata: {name: x}\nspec: {trafficPolicy: Deny}',
      ),
      { mode: 'apply', namespace: 'payments' },
    );
    assert.deepEqual(placed.changes, [
      { action: 'create', kind: 'EgressNetwork', namespace: 'payments', name: 'x' },
    ]);
  });
});

describe('ledger', () => {
  test('built from the stat model grouped by pod, summed per workload', () => {
    const p80 = {
      group: 'policy.linkerd.io',
      kind: 'EgressNetwork',
      namespace: NS,
      name: 'all-egress-traffic',
      port: '80',
    };
    const sims = new Map(
      ['aaaaa', 'bbbbb'].map((x, i) => [
        `${NS}/web-7d4b9c-${x}`,
        new ProxySim({ hostnameLabels: true, startTime: 0, podIp: `10.42.0.${i + 1}` }),
      ]),
    );
    const send = (pod: string, k: number) => {
      for (let i = 0; i < k; i++)
        sims.get(pod)?.record({
          protocol: 'http',
          parent: p80,
          route: { group: '', kind: 'default', namespace: '', name: 'http-egress-allow' },
          hostname: 'httpbin.org',
          backend: p80,
          status: '200',
          error: '',
          seconds: 0.1,
        });
    };
    const sample = (at: number) => ({
      at,
      expositions: new Map(
        [...sims].map(([pod, sim]) => [pod, parseMetrics(sim.render(at), { keep: isEgressFamily })]),
      ),
      failed: [],
      scraped: 2,
    });
    send(`${NS}/web-7d4b9c-aaaaa`, 1);
    send(`${NS}/web-7d4b9c-bbbbb`, 1);
    const prev = sample(0);
    send(`${NS}/web-7d4b9c-aaaaa`, 10);
    send(`${NS}/web-7d4b9c-bbbbb`, 5);
    const curr = sample(10_000);
    const report = toStatWindow(prev, curr, 'pod');
    const workloads = new Map([
      [
        `${NS}/web-7d4b9c-aaaaa`,
        workloadOf({
          metadata: {
            name: 'web-7d4b9c-aaaaa',
            namespace: NS,
            labels: { 'pod-template-hash': '7d4b9c' },
            ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d4b9c', controller: true }],
          },
        }),
      ],
      [`${NS}/web-7d4b9c-bbbbb`, { kind: 'deployment' as const, name: 'web' }],
    ]);
    const l = toLedger(report, {
      workloads,
      source: { kind: 'pods', selection: `all pods in namespace ${NS}`, scraped: 2, failed: 0 },
      start: 0,
      end: 10_000,
    });
    assert.equal(l.flows.length, 1);
    const f = l.flows[0];
    assert.deepEqual(f?.client, {
      namespace: NS,
      workload: { kind: 'deployment', name: 'web' },
      pods: [`${NS}/web-7d4b9c-aaaaa`, `${NS}/web-7d4b9c-bbbbb`],
    });
    assert.equal(f?.counts.requests, 15);
    assert.equal(f?.rate, 1.5);
    assert.equal(f?.firstSeen, '1970-01-01T00:00:00.000Z');
    assert.equal(f?.lastSeen, '1970-01-01T00:00:10.000Z');
    assert.deepEqual(parseLedger(JSON.stringify(l), 'l.json'), l);
    const twice = mergeLedgers(
      [l, { ...l, window: { start: l.window.end, end: '1970-01-01T00:00:20.000Z', seconds: 10 } }],
      l.source,
    );
    assert.equal(twice.flows[0]?.counts.requests, 30);
    assert.equal(twice.flows[0]?.rate, 1.5);
    assert.equal(twice.window.seconds, 20);
  });

  test('workloadOf: owners as kubectl names them', () => {
    const pod = (kind: string, name: string, hash?: string) =>
      workloadOf({
        metadata: {
          name: 'p',
          namespace: 'n',
          labels: hash ? { 'pod-template-hash': hash } : {},
          ownerReferences: [{ kind, name }],
        },
      });
    assert.deepEqual(pod('ReplicaSet', 'web-5d8f', '5d8f'), { kind: 'deployment', name: 'web' });
    assert.deepEqual(pod('ReplicaSet', 'bare-rs'), { kind: 'replicaset', name: 'bare-rs' });
    assert.deepEqual(pod('StatefulSet', 'db'), { kind: 'statefulset', name: 'db' });
    assert.deepEqual(pod('DaemonSet', 'agent'), { kind: 'daemonset', name: 'agent' });
    assert.deepEqual(pod('Job', 'migrate'), { kind: 'job', name: 'migrate' });
    assert.deepEqual(workloadOf({ metadata: { name: 'solo', namespace: 'n' } }), {
      kind: 'pod',
      name: 'solo',
    });
  });

  test('parseLedger names the file and the field', () => {
    const good = ledger([httpbin()]);
    const bad = (mutate: (d: Record<string, unknown>) => void, message: string) => {
      const d = structuredClone(good) as unknown as Record<string, unknown>;
      mutate(d);
      assert.throws(() => parseLedger(JSON.stringify(d), 'l.json'), { name: 'InvalidInput', message });
    };
    assert.throws(() => parseLedger('{', 'l.json'), { message: /^l\.json: not valid JSON/ });
    bad((d) => (d.kind = 'EgressStat'), 'l.json: kind: want EgressLedger (got "EgressStat")');
    bad((d) => (d.schemaVersion = 2), 'l.json: schemaVersion: want 1 (this egressctl reads ledger schema 1)');
    bad(
      (d) => ((d.flows as Record<string, unknown>[])[0]!.protocol = 'udp'),
      'l.json: flows[0].protocol: want one of http, grpc, tls, tcp',
    );
    bad(
      (d) => ((d.flows as Record<string, unknown>[])[0]!.port = 70000),
      'l.json: flows[0].port: want a port 1-65535',
    );
    bad(
      (d) => ((d.flows as Record<string, unknown>[])[0]!.lastSeen = 'yesterday'),
      'l.json: flows[0].lastSeen: want an ISO 8601 time',
    );
    bad((d) => (d.flows = {}), 'l.json: flows: want a list');
    bad(
      (d) =>
        Object.assign((d.flows as Record<string, unknown>[])[0]!, {
          protocol: 'tcp',
          destination: 'db.example',
        }),
      'l.json: flows[0].destination: want ip:port for a tcp flow (got "db.example")',
    );
  });
});
