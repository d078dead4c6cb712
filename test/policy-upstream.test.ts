/**
 * Upstream's own test cases, ported: each row names the upstream test (file and function, or rstest
 * case) whose inputs and expected result it restates, in our terms, through our real engine
 * (decide() in src/policy/engine.ts, computeStatus() in src/policy/status.ts). Rows marked "implied"
 * are not upstream tests but follow from the upstream function they cite. Upstream files:
 *   linkerd2       policy-controller/k8s/index/src/outbound/index/egress_network.rs (mod test)
 *   linkerd2       policy-controller/k8s/api/src/policy/network.rs + ipnet src/ipext.rs (sizes)
 *   linkerd2       policy-controller/k8s/index/src/outbound/tests/routes/{http,tls,tcp,grpc}.rs
 *   linkerd2       policy-controller/k8s/status/src/tests/{egress_network.rs,routes/tls.rs}, index/conflict.rs
 *   linkerd2-proxy linkerd/http/route/src/http/match/tests.rs, http/tests.rs, match/{path,header,query_param,host}.rs
 *   linkerd2-proxy linkerd/http/route/src/grpc/match/tests.rs, grpc/tests.rs
 *   linkerd2-proxy linkerd/tls/route/src/tests.rs, src/sni.rs
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterNetworks } from '../src/manifests/validate.js';
import { decide, parseRequestUrl, type Decision, type EgressRequest } from '../src/policy/engine.js';
import { computeStatus } from '../src/policy/status.js';
import { hostCount, networkSize, parseCidr, parseNetworkCidr, type Cidr } from '../src/net/cidr.js';
import { proxyRegexMatches } from '../src/policy/regex.js';
import type { PolicyObject } from '../src/policy/types.js';

const CLUSTER = parseClusterNetworks('10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');
/** linkerd2 outbound/tests.rs `TestConfig::default()`: the cluster network is 192.0.2.0/24. */
const TEST_CONFIG_CLUSTER = parseClusterNetworks('192.0.2.0/24');
const NS = 'ns';
const GLOBAL = 'linkerd-external'; // egress_network.rs EGRESS_NETS_NS
const OFF_CLUSTER = '198.51.100.7';

let clock = 0;
/** Creation times in the order objects are made, unless a row gives one (null: none, as in a file). */
const stamp = (created?: string | null) =>
  created === null
    ? {}
    : {
        creationTimestamp:
          created ??
          `2026-01-01T00:${String(Math.floor(clock / 60) % 60).padStart(2, '0')}:${String(clock++ % 60).padStart(2, '0')}Z`,
      };

function en(
  name: string,
  o: {
    ns?: string;
    networks?: { cidr: string; except?: string[] }[];
    created?: string | null;
    policy?: 'Allow' | 'Deny';
  } = {},
): PolicyObject {
  return {
    apiVersion: 'policy.linkerd.io/v1alpha1',
    kind: 'EgressNetwork',
    metadata: { name, namespace: o.ns ?? NS, ...stamp(o.created) },
    spec: { trafficPolicy: o.policy ?? 'Allow', ...(o.networks ? { networks: o.networks } : {}) },
  };
}

const API: Record<string, string> = {
  HTTPRoute: 'gateway.networking.k8s.io/v1',
  GRPCRoute: 'gateway.networking.k8s.io/v1',
  TLSRoute: 'gateway.networking.k8s.io/v1alpha2',
  TCPRoute: 'gateway.networking.k8s.io/v1alpha2',
};

function route(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  o: { port?: number; parent?: string; created?: string | null; ns?: string } = {},
): PolicyObject {
  return {
    apiVersion: API[kind] as string,
    kind,
    metadata: { name, namespace: o.ns ?? NS, ...stamp(o.created) },
    spec: {
      parentRefs: [
        { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: o.parent ?? 'egress', port: o.port ?? 80 },
      ],
      rules: [{}],
      ...spec,
    },
  };
}

const service = (name: string, ns = NS): PolicyObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { clusterIP: '10.96.0.10' },
});

function run(
  objects: PolicyObject[],
  r: EgressRequest,
  o: { ns?: string; global?: string; cluster?: Cidr[]; assume?: boolean } = {},
): Decision {
  return decide(
    {
      objects,
      clusterNetworks: o.cluster ?? CLUSTER,
      globalNamespace: o.global ?? GLOBAL,
      clientNamespace: o.ns ?? NS,
      assumeAccepted: o.assume ?? true,
    },
    r,
  );
}

/** A request from a URL, with the host, method and headers a row gives (hosts as sent: not normalised). */
function req(
  url: string,
  o: { method?: string; headers?: Record<string, string>; host?: string; ip?: string } = {},
): EgressRequest {
  const r = parseRequestUrl(url, {
    method: o.method ?? 'GET',
    headers: o.headers ?? {},
    ip: o.ip ?? OFF_CLUSTER,
  });
  return o.host === undefined ? r : { ...r, host: o.host };
}

const picked = (d: Decision) =>
  d.route
    ? `${d.route.default ? '' : `${d.route.kind}/`}${d.route.name}${d.route.rule && !d.route.default ? `#${d.route.rule}` : ''}`
    : d.fallback
      ? 'fallback'
      : d.inCluster
        ? 'in-cluster'
        : 'none';

// Upstream matchers, written as Gateway API matches.
type M = Record<string, unknown>;
const exact = (value: string): M => ({ path: { type: 'Exact', value } });
const prefix = (value: string): M => ({ path: { type: 'PathPrefix', value } });
const regex = (value: string): M => ({ path: { type: 'RegularExpression', value } });
const hdr = (name: string, value: string, type = 'Exact') => ({ type, name, value });
const qp = (name: string, value: string, type = 'Exact') => ({ type, name, value });

/** One HTTPRoute `r` whose rules are the given match lists, on EgressNetwork `egress` port 80. */
const httpWith = (...ruleMatches: M[][]) => [
  en('egress'),
  route('HTTPRoute', 'r', { rules: ruleMatches.map((matches) => ({ matches })) }),
];

/** True when the single matcher matches the request (the route is chosen, not the default). */
const matches = (m: M, r: EgressRequest) => picked(run(httpWith([m]), r)) === 'HTTPRoute/r#1';

describe('linkerd2 policy-controller/k8s/index/src/outbound/index/egress_network.rs (mod test)', () => {
  const ip = '192.168.0.4';
  const rows: { name: string; client: string; nets: PolicyObject[]; want: string | null }[] = [
    {
      name: 'test_picks_smallest_cidr',
      client: 'ns',
      nets: [
        en('net-1', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/16' }], created: null }),
        en('net-2', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/24' }], created: null }),
      ],
      want: 'net-2',
    },
    {
      name: 'test_picks_local_ns',
      client: 'ns-1',
      nets: [
        en('net-1', { ns: 'ns-1', networks: [{ cidr: '192.168.0.1/16' }], created: null }),
        en('net-2', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/24' }], created: null }),
      ],
      want: 'net-1',
    },
    {
      name: 'does_not_pick_network_in_unralated_ns',
      client: 'ns-1',
      nets: [en('net-1', { ns: 'other-ns', networks: [{ cidr: '192.168.0.1/16' }], created: null })],
      want: null,
    },
    {
      name: 'test_picks_older_resource',
      client: 'ns',
      nets: [
        en('net-1', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/16' }], created: '9999-12-31T23:59:59Z' }),
        en('net-2', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/16' }], created: '0001-01-01T00:00:00Z' }),
      ],
      want: 'net-2',
    },
    {
      name: 'test_picks_alphabetical_order',
      client: 'ns',
      nets: [
        en('b', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/16' }], created: null }),
        en('a', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/16' }], created: null }),
      ],
      want: 'a',
    },
    {
      name: 'test_respects_exception',
      client: 'ns',
      nets: [
        en('b', {
          ns: GLOBAL,
          networks: [{ cidr: '192.168.0.1/16', except: ['192.168.0.4'] }],
          created: null,
        }),
        en('d', { ns: GLOBAL, networks: [{ cidr: '192.168.0.1/16' }], created: null }),
      ],
      want: 'd',
    },
    // Implied by compare_matched_egress_network: `Option<Timestamp>` orders None first, so a network
    // without a creationTimestamp is the oldest and wins a tie over any time.
    {
      name: 'implied: compare_matched_egress_network, no creationTimestamp is the oldest',
      client: 'ns',
      nets: [
        en('a-dated', {
          ns: GLOBAL,
          networks: [{ cidr: '192.168.0.0/16' }],
          created: '0001-01-01T00:00:00Z',
        }),
        en('z-file', { ns: GLOBAL, networks: [{ cidr: '192.168.0.0/16' }], created: null }),
      ],
      want: 'z-file',
    },
    {
      name: 'implied: compare_matched_egress_network, size beats age and name',
      client: 'ns',
      nets: [
        en('a-old', { ns: GLOBAL, networks: [{ cidr: '192.168.0.0/16' }], created: null }),
        en('z-new', { ns: GLOBAL, networks: [{ cidr: '192.168.0.0/17' }], created: '9999-12-31T23:59:59Z' }),
      ],
      want: 'z-new',
    },
    {
      name: 'implied: compare_matched_egress_network, names compare in byte order (upper case first)',
      client: 'ns',
      nets: [
        en('a', { ns: GLOBAL, networks: [{ cidr: '192.168.0.0/16' }], created: null }),
        en('B', { ns: GLOBAL, networks: [{ cidr: '192.168.0.0/16' }], created: null }),
      ],
      want: 'B',
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const d = run(row.nets, req('http://example.com/', { ip }), {
        ns: row.client,
        cluster: TEST_CONFIG_CLUSTER,
      });
      assert.equal(d.network?.name ?? null, row.want);
      if (row.want === null) assert.equal(d.fallback, true);
    });
  }
});

describe('linkerd2 policy-controller/k8s/api/src/policy/network.rs block_size (ipnet hosts().count())', () => {
  // ipnet src/ipnet.rs Ipv4Net::hosts (no network/broadcast below /31) and src/ipext.rs
  // Ipv6AddrRange::count (a usize; the release build wraps modulo 2^64).
  const counts: [string, bigint][] = [
    ['192.168.0.4', 1n],
    ['192.168.0.4/32', 1n],
    ['10.0.0.0/31', 2n],
    ['10.0.0.0/30', 2n],
    ['10.0.0.0/25', 126n],
    ['10.0.0.0/24', 254n],
    ['192.168.0.0/16', 65534n],
    ['172.16.0.0/12', 1048574n],
    ['100.64.0.0/10', 4194302n],
    ['10.0.0.0/8', 16777214n],
    ['0.0.0.0/0', 4294967294n],
    ['::1', 1n],
    ['fd00::/128', 1n],
    ['fd00::/127', 2n],
    ['fd00::/126', 4n],
    ['fd00::/120', 256n],
    ['fd00::/65', 2n ** 63n],
    ['fd00::/64', 0n],
    ['2001:db8::/32', 0n],
    ['fd00::/8', 0n],
    ['::/0', 0n],
  ];
  for (const [cidr, want] of counts)
    test(`Cidr::block_size ${cidr} = ${want}`, () => assert.equal(hostCount(parseCidr(cidr)), want));

  test('Network::block_size: the cidr minus the plain sum of its excepts', () => {
    const size = (cidr: string, except: string[] = []) =>
      networkSize({ cidr: parseNetworkCidr(cidr), except: except.map(parseNetworkCidr) });
    assert.equal(size('192.168.0.1/16', ['192.168.0.4']), 65533n);
    assert.equal(size('10.0.0.0/24', ['10.0.0.0/25']), 128n);
    assert.equal(
      size('0.0.0.0/0', ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16']),
      4272881670n,
    );
    // "We assume that exceptions do not overlap": overlapping ones are subtracted twice, and the
    // usize subtraction wraps in the release build.
    assert.equal(size('10.0.0.0/24', ['10.0.0.0/25', '10.0.0.0/26']), 254n - 126n - 62n);
    assert.equal(size('10.0.0.0/24', ['10.0.0.0/24', '10.0.0.0/24']), 2n ** 64n - 254n);
    assert.equal(size('::/0', ['fd00::/8']), 0n);
  });

  test('network and broadcast addresses decide: a /24 (254) is smaller than a /23 minus a /24 (256)', () => {
    // Counted as 2^(32-n), both would be 256 and the older `a-wide` would win.
    const d = run(
      [
        en('a-wide', { networks: [{ cidr: '203.0.112.0/23', except: ['203.0.113.0/24'] }], created: null }),
        en('b-24', { networks: [{ cidr: '203.0.112.0/24' }] }),
      ],
      req('http://example.com/', { ip: '203.0.112.9' }),
    );
    assert.equal(d.network?.name, 'b-24');
  });

  test('IPv6: every block of /64 or shorter counts 0, so it beats a /128 (release-build wraparound)', () => {
    const d = run(
      [
        en('a-host', { networks: [{ cidr: '2001:db8::5/128' }] }),
        en('b-catch-all', {}), // networks omitted: ::/0 except fd00::/8, size 0 - 0
      ],
      req('http://example.com/', { ip: '2001:db8::5' }),
    );
    assert.equal(d.network?.name, 'b-catch-all');
    // Two IPv6 blocks of /64 or shorter tie at 0 and go to the oldest.
    const tie = run(
      [
        en('a-48', { networks: [{ cidr: '2001:db8::/48' }] }),
        en('b-32', { networks: [{ cidr: '2001:db8::/32' }], created: null }),
      ],
      req('http://example.com/', { ip: '2001:db8::5' }),
    );
    assert.equal(tie.network?.name, 'b-32');
  });
});

describe('linkerd2-proxy linkerd/http/route/src/http/match/tests.rs', () => {
  test('empty_match', () => {
    assert.ok(matches({}, req('http://example.com/')));
    assert.ok(matches({}, req('http://example.com/', { method: 'HEAD' })));
  });
  test('method', () => {
    assert.ok(matches({ method: 'GET' }, req('http://example.com/foo')));
    // Upstream's URL is https://example.org/; here https:// means TLS, so the row uses http://.
    assert.ok(!matches({ method: 'GET' }, req('http://example.org/', { method: 'HEAD' })));
  });
  test('headers', () => {
    const m = { headers: [hdr('x-foo', 'bar'), hdr('x-baz', 'qu+x', 'RegularExpression')] };
    assert.ok(!matches(m, req('http://example.com/foo')));
    assert.ok(!matches(m, req('http://example.org/', { headers: { 'x-foo': 'bar', 'x-baz': 'zab' } })));
    assert.ok(matches(m, req('http://example.org/', { headers: { 'x-foo': 'bar', 'x-baz': 'quuuux' } })));
    // Regex must be anchored.
    assert.ok(!matches(m, req('http://example.org/', { headers: { 'x-foo': 'bar', 'x-baz': 'quxa' } })));
  });
  test('path', () => {
    assert.ok(!matches(exact('/foo/bar'), req('http://example.com/foo')));
    assert.ok(matches(exact('/foo/bar'), req('http://example.org/foo/bar')));
  });
  test('multiple', () => {
    const m = {
      ...exact('/foo/bar'),
      headers: [hdr('x-foo', 'bar')],
      queryParams: [qp('foo', 'bar')],
      method: 'GET',
    };
    const headers = { 'x-foo': 'bar' };
    assert.ok(matches(m, req('http://example.org/foo/bar?foo=bar', { headers })));
    // One invalid field (method) invalidates the match.
    assert.ok(!matches(m, req('http://example.org/foo/bar?foo=bar', { headers, method: 'HEAD' })));
  });

  // gateway_api_precedence: the higher match must beat the lower one. The lower one is the FIRST rule,
  // so that "ties go to the first rule" cannot produce the expected answer.
  const precedence: { name: string; higher: M; lower: M; url: string; headers?: Record<string, string> }[] = [
    {
      name: 'exact_beats_prefix_by_length',
      higher: exact('/foo/bar'),
      lower: prefix('/foo'),
      url: '/foo/bar',
    },
    {
      name: 'path_precedence_overrides_lower_precedence_fields',
      higher: exact('/foo'),
      lower: {
        ...prefix('/'),
        method: 'GET',
        headers: [hdr('x-a', '1'), hdr('x-b', '2')],
        queryParams: [qp('a', '1'), qp('b', '2')],
      },
      url: '/foo?a=1&b=2',
      headers: { 'x-a': '1', 'x-b': '2' },
    },
    {
      name: 'longer_prefix_outranks_shorter_prefix',
      higher: prefix('/foo/bar'),
      lower: prefix('/foo'),
      url: '/foo/bar/baz',
    },
    {
      name: 'method_match_outranks_no_method',
      higher: { ...exact('/foo'), method: 'GET' },
      lower: exact('/foo'),
      url: '/foo',
    },
    {
      name: 'method_precedence_overrides_headers_and_query_params',
      higher: { ...exact('/foo'), method: 'GET' },
      lower: {
        ...exact('/foo'),
        headers: [hdr('x-a', '1'), hdr('x-b', '2')],
        queryParams: [qp('a', '1'), qp('b', '2')],
      },
      url: '/foo?a=1&b=2',
      headers: { 'x-a': '1', 'x-b': '2' },
    },
    {
      name: 'more_header_matches_outranks_fewer',
      higher: { ...exact('/foo'), headers: [hdr('x-foo', 'bar'), hdr('x-baz', 'qux')] },
      lower: { ...exact('/foo'), headers: [hdr('x-foo', 'bar')] },
      url: '/foo',
      headers: { 'x-foo': 'bar', 'x-baz': 'qux' },
    },
    {
      name: 'header_precedence_overrides_query_params',
      higher: { ...exact('/foo'), headers: [hdr('x-foo', 'bar')] },
      lower: { ...exact('/foo'), queryParams: [qp('a', '1'), qp('b', '2')] },
      url: '/foo?a=1&b=2',
      headers: { 'x-foo': 'bar' },
    },
    {
      name: 'more_query_param_matches_outranks_fewer',
      higher: { ...exact('/foo'), queryParams: [qp('a', '1'), qp('b', '2')] },
      lower: { ...exact('/foo'), queryParams: [qp('a', '1')] },
      url: '/foo?a=1&b=2',
    },
    { name: 'exact_beats_prefix_of_equal_length', higher: exact('/foo'), lower: prefix('/foo'), url: '/foo' },
  ];
  for (const row of precedence) {
    test(`gateway_api_precedence::${row.name}`, () => {
      const r = req(`http://example.com${row.url}`, { headers: row.headers ?? {} });
      // Both must match on their own.
      assert.ok(matches(row.higher, r), 'higher matches');
      assert.ok(matches(row.lower, r), 'lower matches');
      assert.equal(picked(run(httpWith([row.lower], [row.higher]), r)), 'HTTPRoute/r#2');
      assert.equal(picked(run(httpWith([row.higher], [row.lower]), r)), 'HTTPRoute/r#1');
    });
  }
  test('gateway_api_precedence_ties_are_equal', () => {
    const a = { ...exact('/foo'), headers: [hdr('x-a', '1')] };
    const b = { ...exact('/foo'), headers: [hdr('x-b', '2')] };
    const r = req('http://example.com/foo', { headers: { 'x-a': '1', 'x-b': '2' } });
    // Equal: whichever rule comes first wins.
    assert.equal(picked(run(httpWith([a], [b]), r)), 'HTTPRoute/r#1');
    assert.equal(picked(run(httpWith([b], [a]), r)), 'HTTPRoute/r#1');
  });
});

describe('linkerd2-proxy linkerd/http/route/src/http/tests.rs (find: routes and rules)', () => {
  const two = (a: Record<string, unknown>, b: Record<string, unknown>) => [
    en('egress'),
    route('HTTPRoute', 'r1', a),
    route('HTTPRoute', 'r2', b),
  ];
  test('hostname_precedence', () => {
    const objs = two(
      { hostnames: ['*.example.com'], rules: [{ matches: [exact('/foo')] }] },
      { hostnames: ['foo.example.com'], rules: [{ matches: [exact('/foo')] }] },
    );
    assert.equal(picked(run(objs, req('http://foo.example.com/foo'))), 'HTTPRoute/r2#1');
  });
  test('path_length_precedence', () => {
    const objs = two(
      { rules: [{ matches: [prefix('/foo')] }] },
      { rules: [{ matches: [exact('/foo/bar')] }] },
    );
    assert.equal(picked(run(objs, req('http://foo.example.com/foo/bar'))), 'HTTPRoute/r2#1');
  });
  test('header_count_precedence', () => {
    const objs = two(
      { rules: [{ matches: [{ headers: [hdr('x-foo', 'bar'), hdr('x-baz', 'qux')] }] }] },
      {
        rules: [{ matches: [{ headers: [hdr('x-foo', 'bar'), hdr('x-baz', 'qux'), hdr('x-biz', 'qyx')] }] }],
      },
    );
    const headers = { 'x-foo': 'bar', 'x-baz': 'qux', 'x-biz': 'qyx' };
    assert.equal(picked(run(objs, req('http://www.example.com/', { headers }))), 'HTTPRoute/r2#1');
  });
  test('first_tied_match_in_rule_wins', () => {
    // Prefix(4) and Regex(4) tie: the first-listed match is the one reported, in either order.
    for (const [first, second] of [
      [prefix('/abc'), regex('/abc')],
      [regex('/abc'), prefix('/abc')],
    ] as const) {
      const d = run(httpWith([first], [second]), req('http://example.com/abc'));
      assert.equal(picked(d), 'HTTPRoute/r#1');
    }
  });
  test('first_identical_wins', () => {
    const objs = [
      en('egress'),
      route('HTTPRoute', 'r1', { rules: [{}, {}] }),
      route('HTTPRoute', 'r2', { rules: [{}] }),
    ];
    assert.equal(picked(run(objs, req('http://example.com/'))), 'HTTPRoute/r1#1');
  });
});

describe('linkerd2-proxy linkerd/http/route/src/http/match/path.rs (mod tests)', () => {
  test('path_exact', () => {
    assert.ok(matches(exact('/foo/bar'), req('http://example.com/foo/bar')));
    for (const p of ['/foo', '/foo/bah', '/foo/bar/qux'])
      assert.ok(!matches(exact('/foo/bar'), req(`http://example.com${p}`)), p);
  });
  test('path_prefix', () => {
    for (const pre of ['/', '/foo', '/foo/']) {
      for (const p of ['/foo', '/foo/', '/foo/bar', '/foo/bar/qux'])
        assert.ok(matches(prefix(pre), req(`http://example.com${p}`)), `${pre} ${p}`);
      assert.equal(matches(prefix(pre), req('http://example.com/foobar')), pre === '/', `${pre} /foobar`);
    }
  });
  test('path_regex', () => {
    const m = regex('/foo/\\d+');
    assert.ok(matches(m, req('http://example.com/foo/4')));
    assert.ok(matches(m, req('http://example.com/foo/4321')));
    for (const p of ['/bar/foo/4', '/foo/4abc', '/foo/4/bar', '/foo/bar'])
      assert.ok(!matches(m, req(`http://example.com${p}`)), p);
  });
  test('implied: the path is matched as sent, escapes and all (MatchPath::Exact compares uri.path())', () => {
    assert.ok(matches(exact('/caf%C3%A9'), req('http://example.com/caf%C3%A9')));
    assert.ok(!matches(exact('/café'), req('http://example.com/caf%C3%A9')));
  });
});

describe('linkerd2-proxy linkerd/http/route/src/http/match/header.rs (mod tests)', () => {
  // Multi-valued headers (`foo: bah, foo: bar`) cannot be written in a request here: one value per name.
  test('headers_exact', () => {
    const m = { headers: [hdr('foo', 'bar')] };
    assert.ok(matches(m, req('http://example.com/', { headers: { foo: 'bar' } })));
    assert.ok(
      matches(m, req('http://example.com/', { headers: { FOO: 'bar' } })),
      'names are case-insensitive',
    );
    assert.ok(!matches(m, req('http://example.com/', { headers: { foo: 'bah' } })));
    assert.ok(!matches(m, req('http://example.com/', { headers: { foo: 'BAR' } })), 'values are not');
  });
  test('headers_regex', () => {
    const m = { headers: [hdr('foo', 'bar*', 'RegularExpression')] };
    assert.ok(matches(m, req('http://example.com/', { headers: { foo: 'bar' } })));
    assert.ok(matches(m, req('http://example.com/', { headers: { foo: 'barr' } })));
    assert.ok(!matches(m, req('http://example.com/', { headers: { foo: 'bah' } })));
    assert.ok(!matches(m, req('http://example.com/', { headers: { foo: 'barro' } })));
  });
  test('implied: a regex never matches a value that is not visible ASCII (HeaderValue::to_str)', () => {
    const m = { headers: [hdr('foo', '.*', 'RegularExpression')] };
    assert.ok(matches(m, req('http://example.com/', { headers: { foo: 'any value' } })));
    assert.ok(!matches(m, req('http://example.com/', { headers: { foo: 'café' } })));
  });
});

describe('linkerd2-proxy linkerd/http/route/src/http/match/query_param.rs (mod tests)', () => {
  test('query_param_exact', () => {
    const m = { queryParams: [qp('foo', 'bar')] };
    for (const q of ['?foo=bar', '?foo=bar&fah=bah', '?fah=bah&foo=bar'])
      assert.ok(matches(m, req(`http://example.com/${q}`)), q);
    assert.ok(!matches(m, req('http://example.com/?foo=bah')));
    const empty = { queryParams: [qp('foo', '')] };
    assert.ok(matches(empty, req('http://example.com/?foo')));
    assert.ok(!matches(empty, req('http://example.com/?foo=bah')));
    assert.ok(!matches(empty, req('http://example.com/?bar=foo')));
  });
  test('query_param_regex', () => {
    const m = { queryParams: [qp('foo', 'bar*', 'RegularExpression')] };
    for (const q of [
      '?foo=bar',
      '?foo=ba&fah=bah',
      '?foo=barr&fah=bah',
      '?bar=foo&foo=bar',
      '?foo=bah&foo=bar',
    ])
      assert.ok(matches(m, req(`http://example.com/${q}`)), q);
    for (const q of ['?foo=bah', '?bar=foo', '?foo=barro'])
      assert.ok(!matches(m, req(`http://example.com/${q}`)), q);
    const slash = { queryParams: [qp('foo', 'bar/.+', 'RegularExpression')] };
    assert.ok(matches(slash, req('http://example.com/?foo=bar%2Fhi')), 'values are decoded first');
    assert.ok(!matches(slash, req('http://example.com/?foo=bah%20hi')));
    assert.ok(
      matches({ queryParams: [qp('foo', '.*', 'RegularExpression')] }, req('http://example.com/?foo')),
    );
  });
  test('implied: no query string matches no query match; an exact repeat matches on any occurrence', () => {
    assert.ok(!matches({ queryParams: [qp('foo', '.*', 'RegularExpression')] }, req('http://example.com/')));
    assert.ok(matches({ queryParams: [qp('foo', 'bar')] }, req('http://example.com/?foo=x&foo=bar')));
  });
});

describe('linkerd2-proxy linkerd/http/route/src/http/match/{path,header,query_param}.rs: Regex::find semantics', () => {
  // The leftmost-first match must span the whole value; it is not an anchored search.
  const rows: [pattern: string, value: string, want: boolean][] = [
    ['/api/(v1|v1beta)', '/api/v1beta', false],
    ['/api/(v1|v1beta)', '/api/v1', true],
    ['/api/(v1beta|v1)', '/api/v1beta', true],
    ['/api/v1(beta)?', '/api/v1beta', true],
    ['/api/v1(beta)??', '/api/v1beta', false],
    ['(a|ab)(c|bcd)', 'abcd', true],
    ['(a|ab)(c|bcd)', 'abc', true], // a, then no c or bcd: the engine goes on to ab, c
    ['a|ab', 'ab', false],
    ['ab|a', 'ab', true],
    ['a*?', 'aaa', false],
    ['a*', 'aaa', true],
    ['a*', 'b', false],
    ['.*', '', true],
    ['qu+x', 'quxa', false],
    ['bar*', 'barro', false],
    ['/foo/\\d+', '/bar/foo/4', false],
    ['(?i)/FOO', '/foo', true],
    ['\\A/foo\\z', '/foo', true],
    ['/v[[:digit:]]+', '/v12', true],
    ['/a\\-b', '/a-b', true],
    ['\\x{41}', 'A', true],
    ['(?P<v>v\\d)', 'v1', true],
    ['\\p{Greek}+', 'αβ', true],
    ['\\pL+', 'abc', true],
    ['[^]a]+', 'bcd', true],
    ['(?is)A.B', 'a\nb', true],
    ['/(?=x)x', '/x', false], // look-around: not Rust syntax, refused
    ['(a)\\1', 'aa', false], // backreferences: refused
  ];
  for (const [pattern, value, want] of rows)
    test(`${JSON.stringify(pattern)} on ${JSON.stringify(value)}: ${want ? 'matches' : 'no match'}`, () =>
      assert.equal(proxyRegexMatches(pattern, value), want));
  test('through decide(): a path regex, and a route whose regex the controller refuses is not served', () => {
    assert.equal(
      picked(run(httpWith([regex('/api/(v1|v1beta)')]), req('http://example.com/api/v1beta'))),
      'http-egress-allow',
    );
    assert.equal(
      picked(run(httpWith([regex('/api/(v1|v1beta)')]), req('http://example.com/api/v1'))),
      'HTTPRoute/r#1',
    );
    const d = run(httpWith([regex('/(?=x).*')], [prefix('/')]), req('http://example.com/x'));
    assert.equal(picked(d), 'http-egress-allow', 'the whole route is dropped, not just the rule');
    assert.match(
      d.steps.map((s) => s.result).join('\n'),
      /HTTPRoute ns\/r ignored: the path regex "\/\(\?=x\)\.\*" is not one the proxy runs \(look-around is not supported by the proxy\)/,
    );
  });
});

describe('linkerd2-proxy linkerd/http/route/src/http/match/host.rs (mod tests)', () => {
  /** The route `r` with these hostnames matches the host as sent (not normalised by our URL parser). */
  const hostMatches = (pattern: string, host: string) =>
    picked(
      run(
        [en('egress'), route('HTTPRoute', 'r', { hostnames: [pattern] })],
        req('http://example.com/', { host }),
      ),
    ) === 'HTTPRoute/r#1';
  test('exact', () => {
    assert.ok(hostMatches('example.com', 'example.com'));
    assert.ok(hostMatches('example.com', 'example.com.'));
    assert.ok(!hostMatches('example.com', 'foo.example.com'));
    // A hostname written with a trailing dot needs it (Gateway API validation forbids such hostnames).
    assert.ok(!hostMatches('example.com.', 'example.com'));
    assert.ok(hostMatches('example.com.', 'example.com.'));
  });
  test('suffix', () => {
    assert.ok(!hostMatches('*.example.com', 'example.com'));
    assert.ok(hostMatches('*.example.com', 'foo.example.com'));
    assert.ok(hostMatches('*.example.com', 'foo.example.com.'));
    assert.ok(hostMatches('*.example.com', 'bar.foo.example.com'));
    assert.ok(!hostMatches('*.example.com.', 'bar.foo.example.com'));
    assert.ok(hostMatches('*.example.com.', 'bar.foo.example.com.'));
  });
  test('exact_case_insensitive', () => {
    assert.ok(hostMatches('Example.COM', 'example.com'));
    assert.ok(hostMatches('Example.COM', 'EXAMPLE.com'));
    assert.ok(hostMatches('example.com', 'ExAmPlE.CoM'));
    assert.ok(hostMatches('example.com', 'ExAmPlE.CoM.'));
    assert.ok(!hostMatches('example.com', 'foo.EXAMPLE.com'));
  });
  test('suffix_case_insensitive', () => {
    assert.ok(hostMatches('*.Example.COM', 'foo.example.com'));
    assert.ok(hostMatches('*.example.com', 'FOO.ExAmPlE.CoM'));
    assert.ok(hostMatches('*.example.com', 'BAR.foo.EXAMPLE.COM.'));
    assert.ok(!hostMatches('*.example.com', 'EXAMPLE.COM'));
  });
  test('cmp', () => {
    const pick = (a: string, b: string, host: string) =>
      picked(
        run(
          [
            en('egress'),
            route('HTTPRoute', 'r1', { hostnames: [a] }),
            route('HTTPRoute', 'r2', { hostnames: [b] }),
          ],
          req(`http://${host}/`),
        ),
      );
    // Exact(11) > Suffix(12); Exact(15) > Exact(11) (one route listing both); Suffix(16) > Suffix(12).
    // The suffix needs a label before it, so only the exact name matches.
    assert.equal(pick('*.example.com', 'example.com', 'example.com'), 'HTTPRoute/r2#1');
    assert.equal(pick('*.foo.example.com', 'bar.foo.example.com', 'bar.foo.example.com'), 'HTTPRoute/r2#1');
    assert.equal(pick('*.example.com', '*.foo.example.com', 'bar.foo.example.com'), 'HTTPRoute/r2#1');
    // Suffix(".foo.example.com") == Suffix(".bar.example.com"): equal lengths tie, the first route wins.
    assert.equal(pick('*.foo.example.com', '*.bar.example.com', 'x.foo.example.com'), 'HTTPRoute/r1#1');
    const both = run(
      [
        en('egress'),
        route('HTTPRoute', 'r1', { hostnames: ['*.example.com'] }),
        route('HTTPRoute', 'r2', { hostnames: ['foo.example.com'] }),
      ],
      req('http://foo.example.com/'),
    );
    assert.equal(picked(both), 'HTTPRoute/r2#1', 'Exact(15) beats Suffix(12)');
  });
});

describe('linkerd2-proxy linkerd/http/route/src/grpc/match/tests.rs and grpc/tests.rs', () => {
  const grpcReq = (path: string, headers: Record<string, string> = {}) =>
    req(`grpc://foo.example.com:9000${path}`, { method: 'POST', headers });
  const grpc = (...routes: [string, Record<string, unknown>][]) => [
    en('egress'),
    ...routes.map(([name, spec]) => route('GRPCRoute', name, spec, { port: 9000 })),
  ];
  const gm = (m: M) => grpc(['r', { rules: [{ matches: [m] }] }]);
  test('empty_match', () => {
    assert.equal(picked(run(gm({}), grpcReq('/foo/bar'))), 'GRPCRoute/r#1');
  });
  test('method', () => {
    assert.equal(picked(run(gm({ method: { method: 'bar' } }), grpcReq('/foo/bar'))), 'GRPCRoute/r#1');
    assert.equal(picked(run(gm({ method: { method: 'bar' } }), grpcReq('/foo/bah'))), 'grpc-egress-allow');
  });
  test('headers', () => {
    const m = { headers: [hdr('x-foo', 'bar'), hdr('x-baz', 'qu+x', 'RegularExpression')] };
    assert.equal(picked(run(gm(m), grpcReq('/foo/bar'))), 'grpc-egress-allow');
    assert.equal(
      picked(run(gm(m), grpcReq('/foo/bar', { 'x-foo': 'bar', 'x-baz': 'zab' }))),
      'grpc-egress-allow',
    );
    assert.equal(
      picked(run(gm(m), grpcReq('/foo/bar', { 'x-foo': 'bar', 'x-baz': 'quuuux' }))),
      'GRPCRoute/r#1',
    );
    assert.equal(
      picked(run(gm(m), grpcReq('/foo/bar', { 'x-foo': 'bar', 'x-baz': 'quxa' }))),
      'grpc-egress-allow',
    );
  });
  test('multiple', () => {
    const m = { method: { service: 'foo', method: 'bar' }, headers: [hdr('x-foo', 'bar')] };
    assert.equal(picked(run(gm(m), grpcReq('/foo/bar', { 'x-foo': 'bar' }))), 'GRPCRoute/r#1');
    assert.equal(picked(run(gm(m), grpcReq('/foo/bar', { 'x-foo': 'bah' }))), 'grpc-egress-allow');
  });
  test('headers_without_rpc', () => {
    const m = { headers: [hdr('session-id', 'user-1')] };
    const h = { 'session-id': 'user-1' };
    assert.equal(picked(run(gm(m), grpcReq('/foo/bar', h))), 'GRPCRoute/r#1');
    assert.equal(picked(run(gm(m), grpcReq('/bah/baz', h))), 'GRPCRoute/r#1');
    assert.equal(picked(run(gm(m), grpcReq('/foo/bar'))), 'grpc-egress-allow');
    // grpc/tests.rs headers_without_rpc: rule 1 with the header, rule 2 without matches.
    const two = grpc(['r', { rules: [{ matches: [m] }, {}] }]);
    assert.equal(picked(run(two, grpcReq('/foo/bar', h))), 'GRPCRoute/r#1');
    assert.equal(picked(run(two, grpcReq('/foo/bar'))), 'GRPCRoute/r#2');
  });
  test('rpc_precedence (match/tests.rs) and method_precedence, header_count_precedence (grpc/tests.rs)', () => {
    const svc = { method: { service: 'foo' } };
    const three = { headers: [hdr('a', '1'), hdr('b', '2'), hdr('c', '3')] };
    const h = { a: '1', b: '2', c: '3' };
    assert.equal(
      picked(
        run(
          grpc(['r1', { rules: [{ matches: [three] }] }], ['r2', { rules: [{ matches: [svc] }] }]),
          grpcReq('/foo/bar', h),
        ),
      ),
      'GRPCRoute/r2#1',
    );
    assert.equal(
      picked(
        run(
          grpc(
            ['r1', { rules: [{ matches: [svc] }] }],
            ['r2', { rules: [{ matches: [{ method: { service: 'foo', method: 'bar' } }] }] }],
          ),
          grpcReq('/foo/bar'),
        ),
      ),
      'GRPCRoute/r2#1',
    );
    assert.equal(
      picked(
        run(
          grpc(
            ['r1', { rules: [{ matches: [{ headers: [hdr('a', '1'), hdr('b', '2')] }] }] }],
            ['r2', { rules: [{ matches: [three] }] }],
          ),
          grpcReq('/foo/bar', h),
        ),
      ),
      'GRPCRoute/r2#1',
    );
  });
  test('hostname_precedence, first_identical_wins, default (grpc/tests.rs)', () => {
    const m = { method: { service: 'foo', method: 'bar' } };
    assert.equal(
      picked(
        run(
          grpc(
            ['r1', { hostnames: ['*.example.com'], rules: [{ matches: [m] }] }],
            ['r2', { hostnames: ['foo.example.com'], rules: [{ matches: [m] }] }],
          ),
          grpcReq('/foo/bar'),
        ),
      ),
      'GRPCRoute/r2#1',
    );
    assert.equal(
      picked(run(grpc(['r1', { rules: [{}, {}] }], ['r2', { rules: [{}] }]), grpcReq('/foo/bar'))),
      'GRPCRoute/r1#1',
    );
    assert.equal(
      picked(run(grpc(['r1', { rules: [{ matches: [{}] }] }]), grpcReq('/foo/bar'))),
      'GRPCRoute/r1#1',
    );
  });
  test('implied: linkerd2 routes/grpc.rs, a RegularExpression method match is not served', () => {
    const d = run(gm({ method: { type: 'RegularExpression', service: 'foo.*' } }), grpcReq('/foo/bar'));
    // Without its only GRPCRoute the port is not gRPC: HTTP detection and its default route.
    assert.equal(picked(d), 'http-egress-allow');
    assert.match(d.steps.map((s) => s.result).join('\n'), /unsupported GRPCRoute method match type/);
  });
});

describe('linkerd2-proxy linkerd/tls/route/src/tests.rs and src/sni.rs', () => {
  const tls = (...routes: [string, string[] | undefined][]) => [
    en('egress'),
    ...routes.map(([name, hostnames]) =>
      route('TLSRoute', name, hostnames ? { hostnames } : {}, { port: 443 }),
    ),
  ];
  const sni = (host: string) => req('https://example.com/', { host });
  test('sni_precedence', () => {
    assert.equal(
      picked(run(tls(['r1', ['*.example.com']], ['r2', ['foo.example.com']]), sni('foo.example.com'))),
      'TLSRoute/r2#1',
    );
  });
  test('first_identical_wins', () => {
    assert.equal(
      picked(run(tls(['r1', undefined], ['r2', undefined]), sni('api.github.io'))),
      'TLSRoute/r1#1',
    );
  });
  test('no_match_suffix, no_match_exact, no_routes_no_match', () => {
    assert.equal(
      picked(run(tls(['r1', ['*.test.example.com']]), sni('test.example.com'))),
      'tls-egress-allow',
    );
    assert.equal(picked(run(tls(['r1', ['test.example.com']]), sni('fest.example.com'))), 'tls-egress-allow');
    // No TLSRoute at all: the port is not TLS; HTTPS falls to the opaque default.
    assert.equal(picked(run([en('egress')], sni('fest.example.com'))), 'tcp-egress-allow');
  });
  test('sni.rs exact and suffix (trailing dots)', () => {
    const hit = (pattern: string, host: string) =>
      picked(run(tls(['r', [pattern]]), sni(host))) === 'TLSRoute/r#1';
    assert.ok(hit('example.com', 'example.com'));
    assert.ok(hit('example.com', 'example.com.'));
    assert.ok(!hit('example.com', 'foo.example.com'));
    assert.ok(!hit('example.com.', 'example.com'));
    assert.ok(hit('example.com.', 'example.com.'));
    assert.ok(!hit('*.example.com', 'example.com'));
    assert.ok(hit('*.example.com', 'foo.example.com'));
    assert.ok(hit('*.example.com', 'bar.foo.example.com'));
    assert.ok(!hit('*.example.com.', 'bar.foo.example.com'));
    assert.ok(hit('*.example.com.', 'bar.foo.example.com.'));
    // sni.rs compares as written, unlike host.rs: a hostname with capitals never matches the SNI.
    assert.ok(!hit('Example.com', 'example.com'));
  });
  test('sni.rs cmp: Exact beats a longer Suffix; longer Suffix beats shorter', () => {
    assert.equal(
      picked(
        run(tls(['r1', ['*.foo.example.com']], ['r2', ['x.foo.example.com']]), sni('x.foo.example.com')),
      ),
      'TLSRoute/r2#1',
    );
    assert.equal(
      picked(run(tls(['r1', ['*.example.com']], ['r2', ['*.foo.example.com']]), sni('x.foo.example.com'))),
      'TLSRoute/r2#1',
    );
  });
});

describe('linkerd2 policy-controller/k8s/index/src/outbound/tests/routes/{http,grpc,tls,tcp}.rs', () => {
  const apex = () => en('apex', { networks: undefined });
  const toBackend = (kind: string, backendRefs: unknown[], spec: Record<string, unknown> = {}) =>
    route(kind, 'route', { ...spec, rules: [{ backendRefs }] }, { port: 8080, parent: 'apex' });
  const at = (scheme: string) => req(`${scheme}://example.com:8080/`, { ip: '192.168.0.1' });
  test('backend_service (http.rs, grpc.rs): a missing Service, then the Service', () => {
    const r = toBackend('HTTPRoute', [{ group: 'core', kind: 'Service', name: 'backend', port: 8080 }]);
    const before = run([apex(), r], at('http'), { cluster: TEST_CONFIG_CLUSTER });
    assert.deepEqual([before.verdict, before.effect], ['deny', 'HTTP 500 "Service not found backend"']);
    const after = run([apex(), r, service('backend')], at('http'), { cluster: TEST_CONFIG_CLUSTER });
    assert.deepEqual([after.verdict, after.backend], ['redirect', 'ns/backend:8080']);
  });
  for (const [file, kind, scheme, spec] of [
    ['http.rs', 'HTTPRoute', 'http', {}],
    ['tls.rs', 'TLSRoute', 'https', { hostnames: ['example.com'] }],
    ['tcp.rs', 'TCPRoute', 'tcp', {}],
  ] as const) {
    test(`backend_egress_network (${file})`, () => {
      const r = toBackend(
        kind,
        [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'apex', port: 8080 }],
        spec,
      );
      const d = run([apex(), r], at(scheme), { cluster: TEST_CONFIG_CLUSTER });
      assert.deepEqual(
        [d.network?.name, d.route?.kind, d.verdict, d.backend, d.effect],
        [
          `apex`,
          kind,
          'allow',
          'original destination',
          'forwarded to the original destination example.com:8080',
        ],
      );
    });
  }
});

describe('linkerd2 policy-controller/grpc/src/outbound.rs, outbound/{http,tls,tcp}.rs and outbound/index.rs', () => {
  test('routes: timestamp_then_name, a route without creationTimestamp comes after every dated one', () => {
    const objs = [
      en('egress'),
      route('HTTPRoute', 'a-file', {}, { created: null }),
      route('HTTPRoute', 'b-dated', {}),
    ];
    assert.equal(picked(run(objs, req('http://example.com/'))), 'HTTPRoute/b-dated#1');
    // Equal times: by name, in byte order.
    const t = '2026-02-01T00:00:00Z';
    const named = [
      en('egress'),
      route('HTTPRoute', 'b', {}, { created: t }),
      route('HTTPRoute', 'B', {}, { created: t }),
    ];
    assert.equal(picked(run(named, req('http://example.com/'))), 'HTTPRoute/B#1');
  });
  test('tcp.rs MAXIMUM_ALLOWED_TCP_ROUTES = 1: the first TCPRoute in order takes all traffic', () => {
    const objs = [
      en('egress'),
      route('TCPRoute', 'a-file', {}, { port: 7000, created: null }),
      route('TCPRoute', 'b-dated', {}, { port: 7000 }),
    ];
    assert.equal(picked(run(objs, req('tcp://:7000'))), 'TCPRoute/b-dated#1');
  });
  test('default routes come after user routes and carry the trafficPolicy', () => {
    const deny = [en('egress', { policy: 'Deny' })];
    assert.deepEqual(
      [picked(run(deny, req('http://example.com/'))), run(deny, req('http://example.com/')).effect],
      ['http-egress-deny', 'HTTP 403 "traffic not allowed"'],
    );
    assert.equal(
      picked(
        run(
          [...deny, route('HTTPRoute', 'r', { rules: [{ matches: [prefix('/')] }] })],
          req('http://example.com/'),
        ),
      ),
      'HTTPRoute/r#1',
    );
    assert.equal(run(deny, req('tcp://:7000')).effect, 'connection closed (close counter error="forbidden")');
    const grpcDeny = run(
      [
        ...deny,
        route('GRPCRoute', 'g', { rules: [{ matches: [{ method: { service: 'x' } }] }] }, { port: 9000 }),
      ],
      req('grpc://example.com:9000/foo/bar', { method: 'POST' }),
    );
    assert.deepEqual(
      [picked(grpcDeny), grpcDeny.effect],
      ['grpc-egress-deny', 'gRPC status 7 PERMISSION_DENIED'],
    );
    const tlsDeny = run(
      [...deny, route('TLSRoute', 't', { hostnames: ['other.org'] }, { port: 443 })],
      req('https://example.com/'),
    );
    assert.deepEqual(
      [picked(tlsDeny), tlsDeny.effect],
      ['tls-egress-deny', 'connection closed (close counter error="forbidden")'],
    );
  });
  test('egress_network.rs from_resource: networks omitted is everything off-cluster, per family', () => {
    for (const ip of ['198.51.100.7', '2001:db8::7'])
      assert.equal(run([en('all')], req('http://example.com/', { ip })).network?.name, 'all', ip);
    for (const ip of ['10.1.2.3', 'fd00::7'])
      assert.equal(run([en('all')], req('http://example.com/', { ip })).inCluster, true, ip);
  });
  test('fallback: an off-cluster address no EgressNetwork captures is forwarded as is', () => {
    const d = run([en('only', { networks: [{ cidr: '192.0.2.0/24' }] })], req('http://example.com/'));
    assert.deepEqual([d.fallback, d.verdict], [true, 'allow']);
  });
  test('a Service ClusterIP is never egress', () => {
    const d = run([en('egress'), service('db')], req('http://example.com/', { ip: '10.96.0.10' }));
    assert.equal(d.inCluster, true);
  });
  test('opaque ports (config.linkerd.io/opaque-ports) speak TCP only', () => {
    const d = run(
      [en('egress'), route('HTTPRoute', 'r', {}, { port: 5432 })],
      req('http://example.com:5432/'),
    );
    assert.deepEqual([d.protocol, picked(d)], ['opaque', 'tcp-egress-allow']);
  });
  test('route_accepted_by_resource_port: a route is used only with Accepted=True for that parent and port', () => {
    const r = route('HTTPRoute', 'r', {});
    const status = (s: string) => ({
      ...r,
      status: {
        parents: [
          {
            parentRef: {
              group: 'policy.linkerd.io',
              kind: 'EgressNetwork',
              name: 'egress',
              namespace: NS,
              port: 80,
            },
            controllerName: 'linkerd.io/policy-controller',
            conditions: [
              {
                type: 'Accepted',
                status: s,
                reason: s === 'True' ? 'Accepted' : 'NoMatchingParent',
                message: '',
              },
            ],
          },
        ],
      },
    });
    assert.equal(
      picked(run([en('egress'), status('True')], req('http://example.com/'), { assume: false })),
      'HTTPRoute/r#1',
    );
    assert.equal(
      picked(run([en('egress'), status('False')], req('http://example.com/'), { assume: false })),
      'http-egress-allow',
    );
    assert.equal(
      picked(run([en('egress'), r], req('http://example.com/'), { assume: false })),
      'http-egress-allow',
    );
  });
  test('producer and consumer routes: a route in another client namespace does not apply', () => {
    const objs = [en('egress', { ns: 'egress-ns' }), route('HTTPRoute', 'theirs', {}, { ns: 'team-b' })];
    ((objs[1]?.spec?.parentRefs as { namespace?: string }[])[0] as { namespace?: string }).namespace =
      'egress-ns';
    assert.equal(
      picked(run(objs, req('http://example.com/'), { ns: 'team-a', global: 'egress-ns' })),
      'http-egress-allow',
    );
    assert.equal(
      picked(run(objs, req('http://example.com/'), { ns: 'team-b', global: 'egress-ns' })),
      'HTTPRoute/theirs#1',
      'a consumer route applies to its own namespace',
    );
  });
});

describe('linkerd2 policy-controller/k8s/status/src/tests/egress_network.rs', () => {
  const status = (n: PolicyObject) =>
    (
      computeStatus([n], { clusterNetworks: CLUSTER, now: '2026-01-01T00:00:00Z' }).get(
        `EgressNetwork ${NS}/${n.metadata.name}`,
      ) as {
        conditions: {
          type: string;
          status: string;
          reason: string;
          message: string;
          observedGeneration: number;
        }[];
      }
    ).conditions[0];
  test('egress_network_with_no_networks_specified', () => {
    assert.deepEqual([status(en('n'))?.status, status(en('n'))?.reason], ['True', 'Accepted']);
  });
  test('egress_network_with_nonoverlapping_networks_specified', () => {
    const n = en('n', {
      networks: [
        {
          cidr: '0.0.0.0/0',
          except: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
        },
      ],
    });
    assert.deepEqual([status(n)?.status, status(n)?.reason], ['True', 'Accepted']);
  });
  test('egress_network_with_overlapping_networks_specified', () => {
    const n = en('n', {
      networks: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '100.64.0.0/10', '192.168.0.0/16'] }],
    });
    const c = status(n);
    assert.deepEqual([c?.status, c?.reason], ['False', 'EgressReasonNetworkOverlap']);
    // Upstream's message is `networks overlap with clusterNetworks`; ours names the networks after it.
    assert.equal(c?.message, 'networks overlap with clusterNetworks (172.16.0.0/12)');
  });
  test('egress_network_status_carries_observed_generation', () => {
    const n = en('n');
    n.metadata.generation = 2;
    assert.equal(status(n)?.observedGeneration, 2);
  });
});

describe('linkerd2 policy-controller/k8s/status/src/tests/routes/tls.rs and index/conflict.rs', () => {
  type Parent = { conditions: { type: string; status: string; reason: string; message: string }[] };
  const parents = (objects: PolicyObject[], r: PolicyObject) =>
    (
      computeStatus(objects, { clusterNetworks: CLUSTER, now: '2026-01-01T00:00:00Z' }).get(
        `${r.kind} ${NS}/${r.metadata.name}`,
      ) as { parents: Parent[] }
    ).parents;
  const conds = (objects: PolicyObject[], r: PolicyObject) =>
    (parents(objects, r)[0] as Parent).conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
  const tlsRoute = (name: string, backendRefs?: unknown[], parent = 'egress') =>
    route(
      'TLSRoute',
      name,
      { hostnames: ['example.com'], rules: [backendRefs ? { backendRefs } : {}] },
      { port: 8080, parent },
    );
  const enRef = (name: string) => ({ group: 'policy.linkerd.io', kind: 'EgressNetwork', name, port: 8080 });
  test('route_with_valid_egress_network_backend', () => {
    const r = tlsRoute('r', [enRef('egress')]);
    assert.deepEqual(conds([en('egress'), r], r), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
  });
  test('route_with_egress_network_backend_different_from_parent', () => {
    const r = tlsRoute('r', [enRef('backend-1')]);
    assert.deepEqual(conds([en('egress'), en('backend-1'), r], r), [
      'Accepted=True/Accepted',
      'ResolvedRefs=False/InvalidKind',
    ]);
    assert.equal(
      (parents([en('egress'), en('backend-1'), r], r)[0] as Parent).conditions[1]?.message,
      'EgressNetwork backend needs to be on a route that has an EgressNetwork parent',
    );
  });
  test('route_with_egress_network_parent_and_service_backend; a missing Service is BackendNotFound', () => {
    const r = tlsRoute('r', [{ name: 'backend-1', port: 8080 }]);
    assert.deepEqual(conds([en('egress'), service('backend-1'), r], r), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    assert.deepEqual(conds([en('egress'), r], r), [
      'Accepted=True/Accepted',
      'ResolvedRefs=False/BackendNotFound',
    ]);
  });
  test('route_accepted_after_egress_network_create, route_rejected_after_egress_network_delete (with a port)', () => {
    const r = tlsRoute('r');
    assert.deepEqual(conds([r], r), ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs']);
    assert.deepEqual(conds([en('egress'), r], r), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
  });
  test('implied (status index.rs): a parent that is not accepted rejects its routes', () => {
    const bad = en('egress', { networks: [{ cidr: '10.0.0.0/8' }] });
    const r = tlsRoute('r');
    const c = (parents([bad, r], r)[0] as Parent).conditions[0];
    assert.deepEqual(
      [c?.reason, c?.message],
      ['NoMatchingParent', 'EgressNetwork parent has not been accepted'],
    );
  });
  test('egress_network_route_type_conflict: an older TCPRoute is Conflicted by a newer TLSRoute', () => {
    const tcp = route('TCPRoute', 'tcp', {}, { port: 8080 });
    const tls = tlsRoute('tls');
    assert.deepEqual(conds([en('egress'), tcp], tcp), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    assert.deepEqual(conds([en('egress'), tcp, tls], tcp), [
      'Accepted=False/RouteReasonConflicted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    assert.deepEqual(conds([en('egress'), tcp, tls], tls), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
  });
  // conflict.rs mod test, the `_egress_network` variants (upstream uses a parent without a port; ours
  // carry port 8080, since admission refuses an EgressNetwork parentRef without one).
  const conflictCases: [name: string, existing: string[], candidate: string, conflict: boolean][] = [
    ['grpc_route_no_conflict', ['GRPCRoute', 'HTTPRoute', 'TLSRoute', 'TCPRoute'], 'GRPCRoute', false],
    ['http_route_conflict_grpc', ['GRPCRoute'], 'HTTPRoute', true],
    ['http_route_no_conflict', ['HTTPRoute', 'TLSRoute', 'TCPRoute'], 'HTTPRoute', false],
    ['tls_route_conflict_http', ['HTTPRoute'], 'TLSRoute', true],
    ['tls_route_conflict_grpc', ['GRPCRoute'], 'TLSRoute', true],
    ['tls_route_no_conflict', ['TLSRoute', 'TCPRoute'], 'TLSRoute', false],
    ['tcp_route_conflict_grpc', ['GRPCRoute'], 'TCPRoute', true],
    ['tcp_route_conflict_http', ['HTTPRoute'], 'TCPRoute', true],
    ['tcp_route_conflict_tls', ['TLSRoute'], 'TCPRoute', true],
    ['tcp_route_no_conflict', ['TCPRoute'], 'TCPRoute', false],
  ];
  for (const [name, existing, candidate, conflict] of conflictCases) {
    test(`${name}_egress_network`, () => {
      const others = existing.map((k, i) => route(k, `${k.toLowerCase()}-${i + 1}`, {}, { port: 8080 }));
      const c = route(candidate, 'candidate', {}, { port: 8080 });
      const objs = [en('egress'), ...others, c];
      assert.equal(
        (parents(objs, c)[0] as Parent).conditions[0]?.reason,
        conflict ? 'RouteReasonConflicted' : 'Accepted',
      );
      // Per parent AND port: the same routes on another port never conflict with the candidate.
      const elsewhere = existing.map((k, i) => route(k, `${k.toLowerCase()}-${i + 1}`, {}, { port: 9090 }));
      assert.equal(
        (parents([en('egress'), ...elsewhere, c], c)[0] as Parent).conditions[0]?.reason,
        'Accepted',
      );
    });
  }
});
