import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { parseClusterNetworks } from '../src/manifests/validate.js';
import { decide, parseRequestUrl, type Decision } from '../src/policy/engine.js';
import { computeStatus } from '../src/policy/status.js';
import { lint } from '../src/policy/lint.js';
import { parseManifests } from '../src/policy/load.js';
import { parseCases, runCases } from '../src/policy/cases.js';
import { renderCasesJunit } from '../src/render/cases.js';
import { routeForUrl } from '../src/manifests/build.js';
import type { PolicyObject } from '../src/policy/types.js';
import { runCli } from './helpers/cli.js';

const CLUSTER = parseClusterNetworks('10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');
const parent = (name: string, port: number, namespace = 'egress-test') => ({
  group: 'policy.linkerd.io',
  kind: 'EgressNetwork',
  name,
  namespace,
  port,
});
let clock = 0;
const meta = (name: string, namespace = 'egress-test', extra: Record<string, unknown> = {}) => ({
  name,
  namespace,
  creationTimestamp: `2026-01-01T00:00:${String(clock++ % 60).padStart(2, '0')}Z`,
  ...extra,
});
const net = (
  name: string,
  policy: 'Allow' | 'Deny',
  o: {
    namespace?: string;
    networks?: { cidr: string; except?: string[] }[];
    created?: string;
    annotations?: Record<string, string>;
  } = {},
): PolicyObject => ({
  apiVersion: 'policy.linkerd.io/v1alpha1',
  kind: 'EgressNetwork',
  metadata: {
    ...meta(name, o.namespace),
    ...(o.created ? { creationTimestamp: o.created } : {}),
    ...(o.annotations ? { annotations: o.annotations } : {}),
  },
  spec: { trafficPolicy: policy, ...(o.networks ? { networks: o.networks } : {}) },
});
const http = (
  name: string,
  spec: Record<string, unknown>,
  o: { namespace?: string; created?: string } = {},
): PolicyObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { ...meta(name, o.namespace), ...(o.created ? { creationTimestamp: o.created } : {}) },
  spec: { parentRefs: [parent('all', 80)], ...spec },
});
const kindRoute = (
  kind: string,
  name: string,
  port: number,
  spec: Record<string, unknown> = {},
  created?: string,
): PolicyObject => ({
  apiVersion:
    kind === 'TLSRoute' || kind === 'TCPRoute'
      ? 'gateway.networking.k8s.io/v1alpha2'
      : 'gateway.networking.k8s.io/v1',
  kind,
  metadata: { ...meta(name), ...(created ? { creationTimestamp: created } : {}) },
  spec: { parentRefs: [parent('all', port)], rules: [{}], ...spec },
});

function check(
  objects: PolicyObject[],
  url: string,
  o: { ns?: string; ip?: string; method?: string; headers?: Record<string, string>; assume?: boolean } = {},
): Decision {
  return decide(
    {
      objects,
      clusterNetworks: CLUSTER,
      globalNamespace: 'linkerd-egress',
      clientNamespace: o.ns ?? 'egress-test',
      assumeAccepted: o.assume ?? true,
    },
    parseRequestUrl(url, {
      method: o.method ?? 'GET',
      headers: o.headers ?? {},
      ...(o.ip ? { ip: o.ip } : {}),
    }),
  );
}
const routeOf = (d: Decision) =>
  d.route ? `${d.route.kind}/${d.route.name}` : d.fallback ? 'fallback' : d.inCluster ? 'in-cluster' : 'none';

// docs/semantics.md "Which EgressNetwork captures a connection"; upstream: linkerd2
// policy-controller/k8s/index/src/outbound/index/egress_network.rs (block sizes:
// policy-controller/k8s/api/src/policy/network.rs).
describe('which EgressNetwork captures a connection', () => {
  test('a Service ClusterIP is never egress', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: meta('db'), spec: { clusterIP: '10.96.0.5' } };
    const d = check([net('all', 'Deny'), svc], 'tcp://db:5432', { ip: '10.96.0.5' });
    assert.deepEqual([d.verdict, d.inCluster, d.network], ['allow', true, null]);
  });
  test('local networks shadow ALL global ones, even for destinations they do not cover', () => {
    const local = net('only-docs', 'Allow', { networks: [{ cidr: '192.0.2.0/24' }] });
    const global = net('global', 'Deny', { namespace: 'linkerd-egress' });
    const d = check([local, global], 'https://api.stripe.com', { ip: '198.51.100.40' });
    assert.equal(d.fallback, true, 'not the global Deny');
    assert.equal(d.verdict, 'allow');
    assert.match(
      d.steps[0]?.result ?? '',
      /shadow every global network \(linkerd-egress\/global in linkerd-egress do not apply\)/,
    );
    // A namespace with none uses the global ones.
    assert.equal(check([global], 'https://x.org', { ns: 'payments' }).network?.name, 'global');
  });
  test('most specific block wins, then the oldest, then by name; except narrows a block', () => {
    const wide = net('wide', 'Allow', { created: '2026-01-01T00:00:00Z' });
    const narrow = net('narrow', 'Deny', {
      networks: [{ cidr: '198.51.100.0/24' }],
      created: '2026-02-01T00:00:00Z',
    });
    assert.equal(check([wide, narrow], 'https://x.org', { ip: '198.51.100.9' }).network?.name, 'narrow');
    const a = net('b-old', 'Deny', {
      networks: [{ cidr: '198.51.100.0/24' }],
      created: '2026-01-01T00:00:00Z',
    });
    const b = net('a-new', 'Allow', {
      networks: [{ cidr: '198.51.100.0/24' }],
      created: '2026-03-01T00:00:00Z',
    });
    assert.equal(check([a, b], 'https://x.org', { ip: '198.51.100.9' }).network?.name, 'b-old');
    const c = net('b', 'Deny', { networks: [{ cidr: '198.51.100.0/24' }], created: '2026-01-01T00:00:00Z' });
    const d2 = net('a', 'Allow', {
      networks: [{ cidr: '198.51.100.0/24' }],
      created: '2026-01-01T00:00:00Z',
    });
    assert.equal(check([c, d2], 'https://x.org', { ip: '198.51.100.9' }).network?.name, 'a');
    const excepted = net('ex', 'Deny', {
      networks: [{ cidr: '198.51.100.0/24', except: ['198.51.100.0/25'] }],
    });
    assert.equal(check([excepted], 'https://x.org', { ip: '198.51.100.9' }).fallback, true);
    assert.equal(check([excepted], 'https://x.org', { ip: '198.51.100.200' }).network?.name, 'ex');
  });
  test('omitted networks mean everything off-cluster; cluster addresses and no match are handled', () => {
    const all = net('all', 'Deny');
    assert.equal(check([all], 'https://x.org', { ip: '203.0.113.1' }).network?.name, 'all');
    assert.equal(check([all], 'https://x.org', { ip: '10.1.2.3' }).inCluster, true);
    assert.equal(check([all], 'https://x.org', { ip: '2001:db8::1' }).network?.name, 'all');
    const d = check([], 'https://x.org');
    assert.equal(d.fallback, true);
    assert.match(d.assumptions[0] ?? '', /^no --ip: assumed a public address/);
    const explicit = net('docs', 'Deny', { networks: [{ cidr: '192.0.2.0/24' }] });
    assert.match(
      check([explicit], 'https://x.org').assumptions.join('\n'),
      /docs lists explicit networks: assumed it does not capture the destination/,
    );
  });
});

// docs/semantics.md "Routes on a parent port" and "Matching"; upstream: linkerd2
// policy-controller/k8s/index/src/outbound/index.rs (routes per parent and port),
// policy-controller/grpc/src/outbound/http.rs (default routes appended last); linkerd2-proxy
// linkerd/http/route and linkerd/tls/route (how the proxy picks a route).
describe('routes, protocol and matching', () => {
  test('routes must be accepted; --assume-accepted computes what Linkerd would accept', () => {
    const r = http('get', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/get' } }] }] });
    assert.equal(
      routeOf(check([net('all', 'Deny'), r], 'http://h.org/get', { assume: false })),
      'default/http-egress-deny',
    );
    const accepted = {
      ...r,
      status: {
        parents: [
          {
            parentRef: parent('all', 80),
            controllerName: 'linkerd.io/policy-controller',
            conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted' }],
          },
        ],
      },
    };
    assert.equal(
      routeOf(check([net('all', 'Deny'), accepted], 'http://h.org/get', { assume: false })),
      'HTTPRoute/get',
    );
    assert.equal(routeOf(check([net('all', 'Deny'), r], 'http://h.org/get')), 'HTTPRoute/get');
  });
  test('routes in the network namespace apply to all clients; client-namespace routes only to theirs', () => {
    const global = net('all', 'Deny', { namespace: 'linkerd-egress' });
    const producer = {
      ...http('p', { rules: [{ matches: [{ path: { value: '/p' } }] }] }, { namespace: 'linkerd-egress' }),
      spec: {
        parentRefs: [parent('all', 80, 'linkerd-egress')],
        rules: [{ matches: [{ path: { value: '/p' } }] }],
      },
    };
    const consumer = {
      ...http('c', {}, { namespace: 'team-a' }),
      spec: {
        parentRefs: [parent('all', 80, 'linkerd-egress')],
        rules: [{ matches: [{ path: { value: '/c' } }] }],
      },
    };
    assert.equal(
      routeOf(check([global, producer, consumer], 'http://h.org/p', { ns: 'team-b' })),
      'HTTPRoute/p',
    );
    assert.equal(
      routeOf(check([global, producer, consumer], 'http://h.org/c', { ns: 'team-b' })),
      'default/http-egress-deny',
    );
    assert.equal(
      routeOf(check([global, producer, consumer], 'http://h.org/c', { ns: 'team-a' })),
      'HTTPRoute/c',
    );
  });
  test('protocol per port: GRPCRoute > HTTPRoute > TLSRoute > TCPRoute; opaque ports are TCP; HTTPS under detect is TCP', () => {
    const n = net('all', 'Deny');
    const g = kindRoute('GRPCRoute', 'g', 443);
    const h = kindRoute('HTTPRoute', 'h', 443);
    const t = kindRoute('TLSRoute', 't', 443, {
      rules: [{ backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' }] }],
    });
    assert.equal(check([n, g, h, t], 'grpc://x.org:443/s/m').protocol, 'grpc');
    assert.equal(check([n, h, t], 'http://x.org:443/').protocol, 'http');
    assert.equal(
      routeOf(check([n, h, t], 'https://x.org')),
      'default/tcp-egress-deny',
      'HTTPS on an HTTP port is not HTTP',
    );
    assert.equal(routeOf(check([n, t], 'https://x.org')), 'TLSRoute/t');
    assert.equal(routeOf(check([n], 'https://x.org')), 'default/tcp-egress-deny');
    assert.equal(
      routeOf(check([n, kindRoute('HTTPRoute', 'pg', 5432)], 'tcp://x.org:5432')),
      'default/tcp-egress-deny',
      'opaque port',
    );
    const custom = net('all', 'Deny', { annotations: { 'config.linkerd.io/opaque-ports': '8000-8002' } });
    assert.equal(check([custom], 'http://x.org:8001/').protocol, 'opaque');
    assert.equal(
      check([custom], 'http://x.org:5432/').protocol,
      'detect',
      'the annotation replaces the default list',
    );
  });
  test('only the oldest TCPRoute on a port is used, and it takes all traffic', () => {
    const n = net('all', 'Deny');
    const old = kindRoute(
      'TCPRoute',
      'old',
      5432,
      { rules: [{ backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' }] }] },
      '2026-01-01T00:00:00Z',
    );
    const young = kindRoute(
      'TCPRoute',
      'young',
      5432,
      { rules: [{ backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' }] }] },
      '2026-06-01T00:00:00Z',
    );
    const d = check([n, young, old], 'tcp://198.51.100.60:5432');
    assert.deepEqual([routeOf(d), d.verdict], ['TCPRoute/old', 'allow']);
    assert.match(d.steps.at(-2)?.result ?? '', /ignored: egress-test\/young/);
  });
  test('HTTP: the best match across all routes; host first, then path length; Exact and PathPrefix tie; ties to the oldest', () => {
    const n = net('all', 'Deny');
    const noHost = http(
      'a-nohost',
      { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/get/deep' } }] }] },
      { created: '2026-01-01T00:00:00Z' },
    );
    const wild = http(
      'b-wild',
      { hostnames: ['*.httpbin.org'], rules: [{}] },
      { created: '2026-01-02T00:00:00Z' },
    );
    const exact = http(
      'c-exact',
      { hostnames: ['www.httpbin.org'], rules: [{}] },
      { created: '2026-01-03T00:00:00Z' },
    );
    assert.equal(
      routeOf(check([n, exact], 'http://WWW.HTTPBIN.ORG/')),
      'HTTPRoute/c-exact',
      'hostnames compare case-insensitively',
    );
    assert.equal(
      routeOf(check([n, noHost, wild, exact], 'http://www.httpbin.org/get/deep')),
      'HTTPRoute/c-exact',
      'exact host beats wildcard beats none, even with a longer path',
    );
    assert.equal(routeOf(check([n, noHost, wild], 'http://www.httpbin.org/get/deep')), 'HTTPRoute/b-wild');
    assert.equal(
      routeOf(check([n, noHost, wild], 'http://other.org/get/deep')),
      'HTTPRoute/a-nohost',
      'hostnames that do not match exclude the route',
    );
    const longer = http(
      'long',
      { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api/v1' } }] }] },
      { created: '2026-01-05T00:00:00Z' },
    );
    const shorter = http(
      'short',
      { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }] }] },
      { created: '2026-01-01T00:00:00Z' },
    );
    assert.equal(routeOf(check([n, shorter, longer], 'http://x.org/api/v1/users')), 'HTTPRoute/long');
    const ex = http(
      'ex',
      { rules: [{ matches: [{ path: { type: 'Exact', value: '/api' } }] }] },
      { created: '2026-01-09T00:00:00Z' },
    );
    assert.equal(
      routeOf(check([n, shorter, ex], 'http://x.org/api')),
      'HTTPRoute/ex',
      'an Exact path beats a PathPrefix of equal length, even a newer one (linkerd2-proxy linkerd/http/route/src/http/match/tests.rs exact_beats_prefix_of_equal_length)',
    );
    assert.equal(
      routeOf(check([n, ex], 'http://x.org/api/')),
      'default/http-egress-deny',
      'Exact does not ignore a trailing slash',
    );
  });
  test('PathPrefix matches whole segments; RegularExpression the whole path; method, headers and query break ties', () => {
    const n = net('all', 'Deny');
    const get = http('get', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/get/' } }] }] });
    assert.equal(
      routeOf(check([n, get], 'http://x.org/get')),
      'HTTPRoute/get',
      'trailing slashes are ignored',
    );
    assert.equal(routeOf(check([n, get], 'http://x.org/get/x')), 'HTTPRoute/get');
    assert.equal(routeOf(check([n, get], 'http://x.org/getx')), 'default/http-egress-deny');
    const re = http('re', {
      rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/v[0-9]+' } }] }],
    });
    assert.equal(routeOf(check([n, re], 'http://x.org/v2')), 'HTTPRoute/re');
    assert.equal(routeOf(check([n, re], 'http://x.org/v2/x')), 'default/http-egress-deny');
    const plain = http(
      'a-plain',
      { rules: [{ matches: [{ path: { value: '/api' } }] }] },
      { created: '2026-01-01T00:00:00Z' },
    );
    const withHeader = http(
      'b-header',
      { rules: [{ matches: [{ path: { value: '/api' }, headers: [{ name: 'X-Tenant', value: 'blue' }] }] }] },
      { created: '2026-02-01T00:00:00Z' },
    );
    const withMethod = http(
      'c-method',
      { rules: [{ matches: [{ path: { value: '/api' }, method: 'POST' }] }] },
      { created: '2026-03-01T00:00:00Z' },
    );
    const withQuery = http(
      'd-query',
      { rules: [{ matches: [{ path: { value: '/api' }, queryParams: [{ name: 'v', value: '2' }] }] }] },
      { created: '2026-04-01T00:00:00Z' },
    );
    const all = [n, plain, withHeader, withMethod, withQuery];
    // linkerd2-proxy orders path, then method, then headers, then query params
    // (linkerd/http/route/src/http/match.rs, impl Ord for RequestMatch): the method beats a header.
    const pick = (url: string, o: { headers?: Record<string, string>; method?: string } = {}) =>
      routeOf(check(all, url, o));
    assert.equal(
      pick('http://x.org/api', { headers: { 'x-tenant': 'blue' }, method: 'POST' }),
      'HTTPRoute/c-method',
      'method before headers',
    );
    assert.equal(
      pick('http://x.org/api?v=2', { method: 'POST' }),
      'HTTPRoute/c-method',
      'method before query',
    );
    assert.equal(
      pick('http://x.org/api?v=2', { headers: { 'x-tenant': 'blue' } }),
      'HTTPRoute/b-header',
      'headers before query',
    );
    assert.equal(pick('http://x.org/api?v=2'), 'HTTPRoute/d-query');
    assert.equal(pick('http://x.org/api', { method: 'POST' }), 'HTTPRoute/c-method');
    assert.equal(routeOf(check(all, 'http://x.org/api')), 'HTTPRoute/a-plain');
  });
  test('a user route with an implicit / beats the default route; rules tie to the first', () => {
    const n = net('all', 'Deny');
    const r = http('two', {
      rules: [
        { matches: [{ path: { value: '/x' } }], backendRefs: [{ name: 'svc', port: 80 }] },
        { matches: [{ path: { value: '/x' } }] },
      ],
    });
    const d = check(
      [n, r, { apiVersion: 'v1', kind: 'Service', metadata: meta('svc'), spec: {} }],
      'http://x.org/x',
    );
    assert.deepEqual([d.route?.rule, d.verdict], [1, 'redirect']);
    assert.equal(
      routeOf(check([n, http('catch', { rules: [{}] })], 'http://x.org/anything')),
      'HTTPRoute/catch',
    );
  });
  test('gRPC matches service and method; TLS by SNI: exact beats wildcard, with hostnames beats without', () => {
    const n = net('all', 'Deny');
    const svc = kindRoute('GRPCRoute', 'svc', 9000, {
      rules: [{ matches: [{ method: { type: 'Exact', service: 'grpcbin.GRPCBin' } }] }],
    });
    const m = kindRoute('GRPCRoute', 'method', 9000, {
      rules: [{ matches: [{ method: { type: 'Exact', service: 'grpcbin.GRPCBin', method: 'Index' } }] }],
    });
    assert.equal(
      routeOf(check([n, svc, m], 'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index')),
      'GRPCRoute/method',
    );
    assert.equal(routeOf(check([n, svc, m], 'grpc://grpcb.in:9000/grpcbin.GRPCBin/Other')), 'GRPCRoute/svc');
    const denied = check([n, svc], 'grpc://grpcb.in:9000/other.Svc/X');
    assert.deepEqual(
      [routeOf(denied), denied.effect],
      ['default/grpc-egress-deny', 'gRPC status 7 PERMISSION_DENIED'],
    );
    const be = {
      rules: [{ backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' }] }],
    };
    const any = kindRoute('TLSRoute', 'any', 443, be);
    const wild = kindRoute('TLSRoute', 'wild', 443, { hostnames: ['*.github.com'], ...be });
    const exact = kindRoute('TLSRoute', 'exact', 443, { hostnames: ['api.github.com'], ...be });
    assert.equal(routeOf(check([n, any, wild, exact], 'https://api.github.com')), 'TLSRoute/exact');
    assert.equal(routeOf(check([n, any, wild], 'https://api.github.com')), 'TLSRoute/wild');
    assert.equal(
      routeOf(check([n, any, wild], 'https://github.com')),
      'TLSRoute/any',
      '*.github.com does not match github.com',
    );
    const tlsDenied = check([n, wild], 'https://example.com');
    assert.deepEqual(
      [routeOf(tlsDenied), tlsDenied.effect],
      ['default/tls-egress-deny', 'connection closed (close counter error="forbidden")'],
    );
  });
});

// docs/semantics.md "Outcomes and status"; upstream: linkerd2
// policy-controller/grpc/src/outbound/http.rs (backends: original destination, Service,
// invalid), policy-controller/k8s/status/src/index.rs (the conditions the controller writes).
describe('outcomes and status', () => {
  test('backends: none and the parent forward; a Service redirects; missing or foreign backends fail', () => {
    const n = net('all', 'Deny');
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: meta('internal-egress'), spec: {} };
    const to = (backendRefs: unknown[]) => http('r', { rules: [{ backendRefs }] });
    assert.equal(
      check([n, to([{ name: 'internal-egress', port: 80 }]), svc], 'http://x.org/').effect,
      'redirected to Service egress-test/internal-egress:80 instead of x.org',
    );
    assert.equal(
      check([n, to([{ name: 'nope', port: 80 }])], 'http://x.org/').effect,
      'HTTP 500 "Service not found nope"',
    );
    assert.equal(
      check([n, to([{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'other' }])], 'http://x.org/')
        .verdict,
      'deny',
    );
    assert.equal(
      check(
        [n, to([{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all', port: 8080 }])],
        'http://x.org/',
      ).effect,
      'forwarded to the original destination x.org:80',
      'the parent as backend forwards to the original port; its backendRef port only labels metrics (linkerd2 policy-controller/grpc/src/outbound/http.rs)',
    );
    assert.equal(check([n], 'http://x.org/').effect, 'HTTP 403 "traffic not allowed"');
    assert.equal(
      check([net('all', 'Allow')], 'http://x.org/').effect,
      'forwarded to the original destination x.org:80',
    );
  });
  test("computeStatus writes the controller's conditions: overlap, no parent, conflicts, backends", () => {
    const leaky = net('leaky', 'Deny', { networks: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }] });
    const ok = net('all', 'Deny');
    const h = kindRoute('HTTPRoute', 'h', 443);
    const t = kindRoute('TLSRoute', 't', 443);
    const orphan = {
      ...kindRoute('HTTPRoute', 'orphan', 80),
      spec: { parentRefs: [parent('missing', 80)], rules: [{}] },
    };
    const onLeaky = {
      ...kindRoute('HTTPRoute', 'on-leaky', 80),
      spec: { parentRefs: [parent('leaky', 80)], rules: [{ backendRefs: [{ name: 'gone', port: 80 }] }] },
    };
    const s = computeStatus([leaky, ok, h, t, orphan, onLeaky], {
      clusterNetworks: CLUSTER,
      now: '2026-11-28T00:00:00Z',
    });
    const cond = (key: string, type: string) => {
      const v = s.get(key) as {
        conditions?: { type: string; status: string; reason: string }[];
        parents?: { conditions: { type: string; status: string; reason: string }[] }[];
      };
      const list = v.conditions ?? v.parents?.[0]?.conditions ?? [];
      const c = list.find((x) => x.type === type);
      return `${c?.status}/${c?.reason}`;
    };
    assert.equal(cond('EgressNetwork egress-test/leaky', 'Accepted'), 'False/EgressReasonNetworkOverlap');
    assert.equal(cond('EgressNetwork egress-test/all', 'Accepted'), 'True/Accepted');
    assert.equal(cond('HTTPRoute egress-test/h', 'Accepted'), 'True/Accepted');
    assert.equal(cond('TLSRoute egress-test/t', 'Accepted'), 'False/RouteReasonConflicted');
    assert.equal(cond('HTTPRoute egress-test/orphan', 'Accepted'), 'False/NoMatchingParent');
    assert.equal(cond('HTTPRoute egress-test/on-leaky', 'Accepted'), 'False/NoMatchingParent');
    assert.equal(cond('HTTPRoute egress-test/on-leaky', 'ResolvedRefs'), 'False/BackendNotFound');
  });
});

describe('files, cases, lint and round trips', () => {
  test('manifests generated by egress allow are checked by egress check', () => {
    const objs = [
      'http://httpbin.org/get',
      'https://*.github.com',
      'grpc://grpcb.in:9000/grpcbin.GRPCBin',
    ].map((u) =>
      routeForUrl(u, {
        namespace: 'egress-test',
        network: 'all',
        networkNamespace: 'egress-test',
        exact: false,
      }),
    ) as unknown as PolicyObject[];
    const all = [net('all', 'Deny'), ...objs];
    assert.equal(routeOf(check(all, 'http://httpbin.org/get/x')), 'HTTPRoute/http-httpbin-org-get');
    assert.equal(check(all, 'http://httpbin.org/post').verdict, 'deny');
    assert.equal(check(all, 'https://api.github.com').verdict, 'allow');
    assert.equal(check(all, 'https://github.com').verdict, 'deny');
    assert.equal(check(all, 'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index').verdict, 'allow');
    assert.equal(check(all, 'grpc://evil.example:9000/grpcbin.GRPCBin/Index').verdict, 'deny');
  });
  test('manifest files keep file:line; bad YAML names the line', () => {
    const objs = parseManifests(
      '# c\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: policy.linkerd.io/v1alpha1\n  kind: EgressNetwork\n  metadata: {name: a, namespace: n}\n  spec: {trafficPolicy: Deny}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: ignored}\n',
      'm.yaml',
    );
    assert.deepEqual(
      objs.map((o) => [o.kind, o.source]),
      [['EgressNetwork', 'm.yaml:3']],
    );
    assert.throws(() => parseManifests('a: [\n', 'bad.yaml'), /^UsageError: bad\.yaml:2: not valid YAML/);
  });
  test('lint finds what Linkerd would ignore or reject', () => {
    const objs: PolicyObject[] = [
      net('all', 'Deny'),
      net('leaky', 'Deny', { networks: [{ cidr: '0.0.0.0/0' }] }),
      net('global', 'Deny', { namespace: 'linkerd-egress' }),
      {
        ...kindRoute('HTTPRoute', 'no-port', 80),
        spec: {
          parentRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' }],
          rules: [{}],
        },
      },
      {
        ...kindRoute('HTTPRoute', 'no-group', 80),
        spec: { parentRefs: [{ kind: 'EgressNetwork', name: 'all', port: 80 }], rules: [{}] },
      },
      kindRoute('TLSRoute', 'open-tls', 80),
      kindRoute('TCPRoute', 'tcp-a', 5432, {}, '2026-01-01T00:00:00Z'),
      kindRoute('TCPRoute', 'tcp-b', 5432, {}, '2026-02-01T00:00:00Z'),
      kindRoute('HTTPRoute', 'bad-backends', 8080, {
        rules: [
          {
            backendRefs: [
              { name: 'svc' },
              { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'leaky' },
            ],
            filters: [{ type: 'CORS' }],
          },
        ],
      }),
      { ...kindRoute('HTTPRoute', 'orphan', 80), spec: { parentRefs: [parent('missing', 80)], rules: [{}] } },
    ];
    const f = lint(objs, { clusterNetworks: CLUSTER, globalNamespace: 'linkerd-egress', live: false });
    const rules = f.map((x) => `${x.severity}:${x.rule}:${x.object}`).sort();
    assert.deepEqual(rules, [
      'error:backend-other-network:HTTPRoute egress-test/bad-backends',
      'error:backend-service-port:HTTPRoute egress-test/bad-backends',
      'error:gateway-api-too-new:HTTPRoute egress-test/bad-backends',
      'error:mixed-route-types:TLSRoute egress-test/open-tls',
      'error:network-overlap:EgressNetwork egress-test/leaky',
      'error:parent-missing:HTTPRoute egress-test/orphan',
      'error:parentref-group:HTTPRoute egress-test/no-group',
      'error:parentref-port:HTTPRoute egress-test/no-port',
      'error:second-tcproute:TCPRoute egress-test/tcp-b',
      'warning:shadows-global:EgressNetwork egress-test/all',
      'warning:shadows-global:EgressNetwork egress-test/leaky',
      'warning:tls-no-hostnames:TLSRoute egress-test/open-tls',
    ]);
  });
  test('cases: a failing case says what it got; JUnit escapes and counts', () => {
    const cases = parseCases(
      'namespace: egress-test\ncases:\n  - {name: "a <b> & c", request: "http://x.org/", expect: allow}\n  - {request: "http://x.org/", expect: deny, route: default/http-egress-deny}\n',
      'c.yaml',
      'default',
    );
    const results = runCases(cases, {
      objects: [net('all', 'Deny')],
      clusterNetworks: CLUSTER,
      globalNamespace: 'linkerd-egress',
      assumeAccepted: true,
    });
    assert.deepEqual(
      results.map((r) => r.pass),
      [false, true],
    );
    assert.equal(
      results[0]?.failure,
      'expected allow, got deny (default/http-egress-deny: HTTP 403 "traffic not allowed")',
    );
    const junit = renderCasesJunit(results, 'c.yaml');
    assert.match(junit, /<testsuites tests="2" failures="1">/);
    assert.match(junit, /name="a &lt;b&gt; &amp; c"/);
    assert.match(
      junit,
      /<failure message="expected allow, got deny \(default\/http-egress-deny: HTTP 403 &quot;traffic not allowed&quot;\)">/,
    );
    assert.throws(
      () => parseCases('cases:\n  - {request: x, expect: maybe}\n', 'c.yaml', 'd'),
      /c\.yaml: case 1: "expect" must be allow, deny or redirect/,
    );
  });
});

describe('CLI: egress check and egress lint on files', () => {
  test('check prints yes/no with the why; exit 0 yes, 1 no, 2 error', async () => {
    const yes = await runCli([
      'egress',
      'check',
      '-n',
      'egress-test',
      '-f',
      'examples/guide',
      'https://github.com',
    ]);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(
      yes.stdout,
      /^yes\n {2}from: {5}namespace egress-test\n {2}network: {2}EgressNetwork egress-test\/all-egress-traffic \(trafficPolicy Deny\)\n {2}protocol: tls\n {2}route: {4}TLSRoute egress-test\/tls-egress, rule 1\n/,
    );
    const no = await runCli([
      'egress',
      'check',
      '-n',
      'egress-test',
      '-f',
      'examples/guide',
      'tcp://198.51.100.60:5432',
    ]);
    assert.equal(no.code, 1);
    assert.match(no.stdout, /^no\n/);
    assert.match(no.stdout, /result: {3}denied: connection closed \(close counter error="forbidden"\)/);
    const json = JSON.parse(
      (
        await runCli([
          'egress',
          'check',
          '-n',
          'egress-test',
          '-f',
          'examples/guide',
          'http://google.com',
          '-o',
          'json',
        ])
      ).stdout,
    ) as { verdict: string; allowed: boolean; backend: string };
    assert.deepEqual(
      [json.verdict, json.allowed, json.backend],
      ['redirect', true, 'egress-test/internal-egress:80'],
    );
    const bad = await runCli(['egress', 'check', '-f', 'examples/guide', 'ftp://x']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'error: unsupported scheme "ftp" in "ftp://x": use http, https, grpc or tcp\n');
    const noCluster = await runCli(['egress', 'check', 'https://x.org']);
    assert.equal(noCluster.code, 2);
    assert.match(noCluster.stderr, /; to check manifests without a cluster, pass -f FILE\|DIR\n$/);
    const missing = await runCli(['egress', 'check', '-f', 'nope/', 'http://x']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: -f .*nope: no such file or directory\n$/);
  });
  test("--cases runs the guide's cases; -o junit for CI", async () => {
    const r = await runCli([
      'egress',
      'check',
      '--cases',
      'examples/guide-cases.yaml',
      '-f',
      'examples/guide/',
    ]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /\n9 passed, 0 failed\n$/);
    const j = await runCli([
      'egress',
      'check',
      '--cases',
      'examples/guide-cases.yaml',
      '-f',
      'examples/guide/',
      '-o',
      'junit',
    ]);
    assert.match(j.stdout, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites tests="9" failures="0">/);
  });
  test('lint -f reports with file:line and exits 1 only on errors', async () => {
    const r = await runCli(['egress', 'lint', '-f', 'examples/guide', '-o', 'json']);
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout) as { errors: number; findings: { rule: string; location: string }[] };
    assert.deepEqual(
      doc.findings.map((f) => [f.rule, f.location]),
      [['tls-no-hostnames', 'examples/guide/20-routes.yaml:20']],
    );
    assert.ok(parseYaml('a: 1'));
  });
});
