/**
 * Lint that knows the cluster's Gateway API bundle: the registry's table of what each bundle serves, the
 * two rules that depend on it, the sandbox serving the CRDs with their `bundle-version` annotation, and
 * live `egress lint` reading it. Upstream facts (linkerd2 #15567 and #15584):
 * - linkerd2 `policy-controller/k8s/api/src/lib.rs`: the controller probes TLSRoute v1, then v1alpha2, and
 *   watches the first served; v1alpha2 specs are read with `deserialize_v1alpha2_spec`, where hostnames
 *   are optional, while v1 uses gateway-api-rs's `TlsRouteSpec`, which requires them;
 * - gateway-api-rs `gateway-api/src/apis/experimental/{tlsroutes,tcproutes}.rs`: `backend_refs` is a
 *   required `Vec` in both rule types, so a rule without backendRefs does not deserialize.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GATEWAY_API_BUNDLES,
  KINDS,
  bundleServes,
  compareBundleVersions,
  parseBundleVersion,
} from '../src/kinds.js';
import { route, routeForUrl, type RouteOptions } from '../src/manifests/build.js';
import { BUNDLE_RULE_KINDS, bundleVersionNote, lint } from '../src/policy/lint.js';
import { parseClusterNetworks } from '../src/manifests/validate.js';
import { SERVED } from '../src/sandbox/resources.js';
import type { PolicyObject } from '../src/policy/types.js';
import { runCli } from './helpers/cli.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';

const CLUSTER = parseClusterNetworks('10.0.0.0/8');
const NS = 'egress-test';
const BUNDLE_RULES = new Set([
  'tlsroute-hostnames-required',
  'rule-backendrefs-required',
  'gateway-api-too-new',
]);

const network: PolicyObject = {
  apiVersion: 'policy.linkerd.io/v1alpha1',
  kind: 'EgressNetwork',
  metadata: { name: 'all', namespace: NS },
  spec: { trafficPolicy: 'Allow' },
};
const toParent = (port: number) => ({ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all', port });
const toNetwork = [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' }];

const routeObject = (
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  apiVersion = `gateway.networking.k8s.io/${kind === 'HTTPRoute' ? 'v1' : 'v1alpha2'}`,
): PolicyObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: NS },
  spec: { parentRefs: [toParent(kind === 'TCPRoute' ? 5432 : 443)], ...spec },
  source: `${name}.yaml:1`,
});

/** The bundle-dependent findings for one object, as `rule` (and the message for the caller to check). */
function bundleFindings(obj: PolicyObject, bundle: string | undefined) {
  const gatewayApi = bundle ? new Map(BUNDLE_RULE_KINDS.map((k) => [k, bundle])) : undefined;
  return lint([network, obj], {
    clusterNetworks: CLUSTER,
    globalNamespace: 'linkerd-egress',
    live: false,
    gatewayApi,
  })
    .filter((f) => BUNDLE_RULES.has(f.rule))
    .map((f) => ({ rule: f.rule, severity: f.severity, location: f.location, message: f.message }));
}

describe('the registry: which route versions each Gateway API bundle serves', () => {
  test('bundle v1.1.1, experimental (Linkerd’s vendored CRDs in crds/) serves what the kinds registry holds', () => {
    for (const k of KINDS.filter((x) => x.group === 'gateway.networking.k8s.io' && x.route))
      assert.deepEqual(
        [...(bundleServes(k.kind, 'v1.1.1', 'experimental') ?? [])].sort(),
        [...k.versions].sort(),
        k.kind,
      );
  });
  test('rows, as the gateway-api releases and linkerd2 #15584 give them', () => {
    const rows: [string, string, 'standard' | 'experimental' | undefined, string[] | undefined][] = [
      ['TLSRoute', 'v1.2.1', 'standard', []],
      ['TLSRoute', 'v1.2.1', 'experimental', ['v1alpha2']],
      ['TLSRoute', 'v1.4.0', 'experimental', ['v1alpha2', 'v1alpha3']],
      ['TLSRoute', 'v1.5.1', 'standard', ['v1']],
      ['TLSRoute', 'v1.5.1', 'experimental', ['v1', 'v1alpha2', 'v1alpha3']],
      ['TLSRoute', 'v1.5.1', undefined, ['v1', 'v1alpha2', 'v1alpha3']],
      ['TCPRoute', 'v1.5.1', 'standard', []],
      ['TCPRoute', 'v1.5.1', 'experimental', ['v1alpha2']],
      ['HTTPRoute', 'v1.5.1', 'standard', ['v1', 'v1beta1']],
      ['GRPCRoute', 'v1.1.0', 'standard', ['v1']],
      ['GRPCRoute', 'v1.0.0', 'standard', undefined],
      ['UDPRoute', 'v1.5.1', 'experimental', undefined],
    ];
    for (const [kind, bundle, channel, want] of rows)
      assert.deepEqual(bundleServes(kind, bundle, channel), want, `${kind} ${bundle} ${channel ?? 'any'}`);
    assert.ok(GATEWAY_API_BUNDLES.every((r) => parseBundleVersion(r.since)));
  });
  test('bundle versions parse and order numerically', () => {
    assert.deepEqual(parseBundleVersion('v1.5.1'), [1, 5, 1]);
    assert.deepEqual(parseBundleVersion('1.10.0'), [1, 10, 0]);
    for (const bad of ['v1.5', 'latest', 'v1.5.1-rc1', ''])
      assert.equal(parseBundleVersion(bad), undefined, bad);
    assert.ok(compareBundleVersions('v1.4.9', 'v1.5.0') < 0);
    assert.ok(compareBundleVersions('v1.10.0', 'v1.5.1') > 0);
    assert.equal(compareBundleVersions('1.5.1', 'v1.5.1'), 0);
  });
});

describe('lint rules that depend on the bundle, on each bundle', () => {
  const tlsNoHostnames = routeObject('TLSRoute', 'tls-any', { rules: [{ backendRefs: toNetwork }] });
  const tlsNoBackends = routeObject('TLSRoute', 'tls-nb', { hostnames: ['x.org'], rules: [{}] });
  const tcpNoBackends = routeObject('TCPRoute', 'tcp-nb', { rules: [{}] });
  const rows: [string, PolicyObject, string | undefined, string[]][] = [
    // Unknown bundle: the rules are not applied.
    ['TLSRoute without hostnames, bundle unknown', tlsNoHostnames, undefined, []],
    ['TCPRoute rule without backendRefs, bundle unknown', tcpNoBackends, undefined, []],
    // Before 1.5 Linkerd watches v1alpha2, whose hostnames are optional (deserialize_v1alpha2_spec).
    ['TLSRoute without hostnames on v1.1.1', tlsNoHostnames, 'v1.1.1', []],
    ['TLSRoute without hostnames on v1.4.0', tlsNoHostnames, 'v1.4.0', []],
    // From 1.5 Linkerd watches v1, whose types require hostnames.
    ['TLSRoute without hostnames on v1.5.1', tlsNoHostnames, 'v1.5.1', ['tlsroute-hostnames-required']],
    [
      'TLSRoute with hostnames: [] on v1.5.1 (reads as an empty list)',
      routeObject('TLSRoute', 'tls-empty', { hostnames: [], rules: [{ backendRefs: toNetwork }] }),
      'v1.5.1',
      [],
    ],
    // Linkerd's 1.5.1 types require backendRefs on every bundle; the bundle decides whether the API server admits it.
    ['TLSRoute rule without backendRefs on v1.1.1', tlsNoBackends, 'v1.1.1', ['rule-backendrefs-required']],
    ['TLSRoute rule without backendRefs on v1.5.1', tlsNoBackends, 'v1.5.1', ['rule-backendrefs-required']],
    ['TCPRoute rule without backendRefs on v1.1.1', tcpNoBackends, 'v1.1.1', ['rule-backendrefs-required']],
    ['TCPRoute rule without backendRefs on v1.5.1', tcpNoBackends, 'v1.5.1', ['rule-backendrefs-required']],
    [
      'TCPRoute rule with backendRefs on v1.5.1',
      routeObject('TCPRoute', 'tcp-ok', { rules: [{ backendRefs: toNetwork }] }),
      'v1.5.1',
      [],
    ],
    [
      'HTTPRoute rule without backendRefs on v1.5.1 (forwards)',
      routeObject('HTTPRoute', 'http', { rules: [{}] }),
      'v1.5.1',
      [],
    ],
    // TLSRoute v1: too new unless the bundle serves it (Linkerd then watches v1, #15584).
    [
      'TLSRoute v1, bundle unknown',
      routeObject(
        'TLSRoute',
        'tls-v1',
        { hostnames: ['x.org'], rules: [{ backendRefs: toNetwork }] },
        'gateway.networking.k8s.io/v1',
      ),
      undefined,
      ['gateway-api-too-new'],
    ],
    [
      'TLSRoute v1 on v1.4.0',
      routeObject(
        'TLSRoute',
        'tls-v1',
        { hostnames: ['x.org'], rules: [{ backendRefs: toNetwork }] },
        'gateway.networking.k8s.io/v1',
      ),
      'v1.4.0',
      ['gateway-api-too-new'],
    ],
    [
      'TLSRoute v1 on v1.5.1',
      routeObject(
        'TLSRoute',
        'tls-v1',
        { hostnames: ['x.org'], rules: [{ backendRefs: toNetwork }] },
        'gateway.networking.k8s.io/v1',
      ),
      'v1.5.1',
      [],
    ],
  ];
  for (const [name, obj, bundle, want] of rows)
    test(name, () => {
      const f = bundleFindings(obj, bundle);
      assert.deepEqual(
        f.map((x) => x.rule),
        want,
      );
      for (const x of f) {
        assert.equal(x.severity, 'error');
        assert.equal(x.location, obj.source);
      }
    });

  test('each finding says what Linkerd does, the fix and the upstream file', () => {
    const [h] = bundleFindings(tlsNoHostnames, 'v1.5.1');
    assert.equal(
      h?.message,
      'no spec.hostnames: on Gateway API v1.5.1 Linkerd watches TLSRoute v1, whose types require hostnames, so the policy controller cannot read this route and skips it (linkerd2 policy-controller/k8s/api/src/lib.rs, deserialize_v1alpha2_spec; gateway-api-rs gateway-api/src/apis/experimental/tlsroutes.rs); fix: list the SNI names in spec.hostnames',
    );
    const [old] = bundleFindings(tcpNoBackends, 'v1.1.1');
    assert.equal(
      old?.message,
      "rule 1 has no backendRefs: Gateway API v1.1.1's CRD admits it, but Linkerd's policy controller reads TCPRoute with Gateway API 1.5.1 types that require backendRefs (linkerd2 #15567: policy-controller/k8s/api/src/lib.rs uses gateway-api-rs gateway-api/src/apis/experimental/tcproutes.rs) and skips the route; fix: add backendRefs, e.g. the parent EgressNetwork to go on to the original destination",
    );
    const [nw] = bundleFindings(tlsNoBackends, 'v1.5.1');
    assert.match(
      nw?.message ?? '',
      /^rule 1 has no backendRefs: Gateway API v1\.5\.1's CRD requires them, so the API server rejects the route; one stored before the CRD upgrade is skipped: Linkerd's policy controller reads TLSRoute /,
    );
    const [v1] = bundleFindings(
      routeObject(
        'TLSRoute',
        'tls-v1',
        { hostnames: ['x.org'], rules: [{ backendRefs: toNetwork }] },
        'gateway.networking.k8s.io/v1',
      ),
      'v1.4.0',
    );
    assert.equal(
      v1?.message,
      'TLSRoute gateway.networking.k8s.io/v1 is not served by the installed Gateway API v1.4.0 (only from v1.5.0): write gateway.networking.k8s.io/v1alpha2',
    );
  });

  test('the note names the kinds whose version is unknown, and only when such routes exist', () => {
    assert.equal(bundleVersionNote([network], undefined), undefined);
    assert.equal(
      bundleVersionNote([network, tcpNoBackends, tlsNoHostnames], new Map([['TCPRoute', 'v1.5.1']])),
      'note: the Gateway API bundle version of TLSRoute is unknown: the rules that depend on it (tlsroute-hostnames-required, rule-backendrefs-required) were not applied; pass --gateway-api-version vX.Y.Z to apply them',
    );
    assert.equal(bundleVersionNote([tcpNoBackends], new Map([['TCPRoute', 'v1.5.1']])), undefined);
  });
});

describe('generation never emits what the controller skips', () => {
  const base: RouteOptions = {
    type: 'tls',
    name: 'r',
    namespace: NS,
    network: 'all',
    networkNamespace: NS,
    port: 443,
    hostnames: ['httpbin.org'],
    pathType: 'PathPrefix',
    headers: [],
    backend: 'egress',
  };
  const generated: PolicyObject[] = [
    route(base),
    route({ ...base, backend: 'svc/internal:8443' }),
    route({ ...base, type: 'tcp', port: 5432, hostnames: [] }),
    route({ ...base, type: 'tcp', port: 5432, hostnames: [], backend: 'svc/db:5432' }),
    routeForUrl('https://httpbin.org', {
      namespace: NS,
      network: 'all',
      networkNamespace: NS,
      exact: false,
    }),
    routeForUrl('tcp://:5432', { namespace: NS, network: 'all', networkNamespace: NS, exact: false }),
  ];

  for (const bundle of ['v1.1.1', 'v1.4.0', 'v1.5.1'])
    test(`every generated TLSRoute and TCPRoute passes the bundle rules on ${bundle}`, () => {
      assert.deepEqual(
        generated.map((g) => g.kind),
        ['TLSRoute', 'TLSRoute', 'TCPRoute', 'TCPRoute', 'TLSRoute', 'TCPRoute'],
      );
      for (const g of generated)
        assert.deepEqual(bundleFindings(g, bundle), [], `${g.kind} ${g.metadata.name}`);
    });

  test('a TLS route without --hostname (every SNI, as the guide’s tls-egress) is fine before 1.5 and flagged from 1.5', () => {
    const any = route({ ...base, hostnames: [] }) as unknown as PolicyObject;
    assert.deepEqual(bundleFindings(any, 'v1.1.1'), []);
    assert.deepEqual(
      bundleFindings(any, 'v1.5.1').map((f) => f.rule),
      ['tlsroute-hostnames-required'],
    );
  });
});

describe('the sandbox serves the CRDs with their bundle-version annotation; live lint reads it', () => {
  const tlsType = SERVED.find((r) => r.kind === 'TLSRoute')!;
  const tcpType = SERVED.find((r) => r.kind === 'TCPRoute')!;
  const netType = SERVED.find((r) => r.kind === 'EgressNetwork')!;
  const apply = (c: TestCluster, r: typeof tlsType, o: PolicyObject) =>
    c.server.store.apply(
      r,
      NS,
      o.metadata.name,
      { ...o, source: undefined },
      {
        fieldManager: 'kubectl',
        force: true,
        dryRun: false,
      },
    );
  const seed = (c: TestCluster) => {
    apply(c, netType, network);
    apply(c, tlsType, routeObject('TLSRoute', 'tls-any', { rules: [{ backendRefs: toNetwork }] }));
    apply(c, tcpType, routeObject('TCPRoute', 'tcp-nb', { rules: [{}] }));
  };
  const lintLive = async (c: TestCluster) => {
    const r = await runCli(['egress', 'lint', '-o', 'json'], { env: c.env });
    const doc = JSON.parse(r.stdout) as { findings: { rule: string; object: string }[] };
    return {
      code: r.code,
      stderr: r.stderr,
      bundle: doc.findings.filter((f) => BUNDLE_RULES.has(f.rule)).map((f) => `${f.rule} ${f.object}`),
    };
  };

  let old: TestCluster;
  let current: TestCluster;
  before(async () => {
    old = await startCluster({ tls: false, gatewayApiBundleVersion: 'v1.1.1' });
    current = await startCluster({ tls: false, gatewayApiBundleVersion: 'v1.5.1' });
    seed(old);
    seed(current);
  });
  after(async () => {
    await old.close();
    await current.close();
  });

  test('GET customresourcedefinitions/NAME answers the CRD with the annotation; an unknown one is a 404 Status', async () => {
    const get = (c: TestCluster, name: string) =>
      fetch(`${c.server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, {
        headers: { Authorization: 'Bearer test-token' },
      });
    const r = await get(current, 'tlsroutes.gateway.networking.k8s.io');
    assert.equal(r.status, 200);
    const crd = (await r.json()) as {
      kind: string;
      metadata: { annotations: Record<string, string> };
      spec: { group: string };
    };
    assert.equal(crd.kind, 'CustomResourceDefinition');
    assert.equal(crd.spec.group, 'gateway.networking.k8s.io');
    assert.equal(crd.metadata.annotations['gateway.networking.k8s.io/bundle-version'], 'v1.5.1');
    assert.equal(crd.metadata.annotations['gateway.networking.k8s.io/channel'], 'experimental');
    const linkerd = (await (await get(current, 'egressnetworks.policy.linkerd.io')).json()) as {
      metadata: { annotations: Record<string, string> };
    };
    assert.equal(
      linkerd.metadata.annotations['gateway.networking.k8s.io/bundle-version'],
      undefined,
      'only Gateway API CRDs carry it',
    );
    const missing = await get(current, 'udproutes.gateway.networking.k8s.io');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'customresourcedefinitions.apiextensions.k8s.io "udproutes.gateway.networking.k8s.io" not found',
      reason: 'NotFound',
      details: {
        name: 'udproutes.gateway.networking.k8s.io',
        group: 'apiextensions.k8s.io',
        kind: 'customresourcedefinitions',
      },
      code: 404,
    });
  });

  test('on v1.1.1 the TCPRoute rule without backendRefs is reported; the TLSRoute without hostnames is not', async () => {
    const r = await lintLive(old);
    assert.equal(r.code, 1);
    assert.deepEqual(r.bundle, ['rule-backendrefs-required TCPRoute egress-test/tcp-nb']);
    assert.equal(r.stderr, '');
  });

  test('on v1.5.1 both are reported', async () => {
    const r = await lintLive(current);
    assert.equal(r.code, 1);
    assert.deepEqual(r.bundle, [
      'rule-backendrefs-required TCPRoute egress-test/tcp-nb',
      'tlsroute-hostnames-required TLSRoute egress-test/tls-any',
    ]);
    assert.ok(
      current.server.requests.some(
        (q) =>
          q.path ===
          '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/tlsroutes.gateway.networking.k8s.io',
      ),
    );
  });

  test('a 403 on the CRDs is one note per kind, and the rules that need the version are not applied', async () => {
    current.server.faults.deny.push({ verb: 'get', resource: 'customresourcedefinitions' });
    try {
      const r = await lintLive(current);
      assert.deepEqual(r.bundle, []);
      assert.equal(
        r.stderr,
        [
          'note: could not read the Gateway API bundle version of TCPRoute (get customresourcedefinition tcproutes.gateway.networking.k8s.io: 403 Forbidden): the checks that depend on it were not applied',
          'note: could not read the Gateway API bundle version of TLSRoute (get customresourcedefinition tlsroutes.gateway.networking.k8s.io: 403 Forbidden): the checks that depend on it were not applied',
          '',
        ].join('\n'),
      );
    } finally {
      current.server.faults.deny.pop();
    }
  });
});

describe('egress lint -f --gateway-api-version', () => {
  test('bad values and live use are usage errors (exit 2)', async () => {
    const bad = await runCli(['egress', 'lint', '-f', 'examples/guide', '--gateway-api-version', 'latest']);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      'error: invalid --gateway-api-version "latest": want a release version such as v1.5.1\n',
    );
    const live = await runCli(['egress', 'lint', '--gateway-api-version', 'v1.5.1']);
    assert.equal(live.code, 2);
    assert.equal(
      live.stderr,
      "error: --gateway-api-version applies with -f only: live lint reads the bundle version from the cluster's CRDs\n",
    );
  });
  test('the guide: unknown version is a note; v1.1.1 is clean; v1.5.1 flags tls-egress (no hostnames)', async () => {
    const unknown = await runCli(['egress', 'lint', '-f', 'examples/guide', '-o', 'json']);
    assert.equal(unknown.code, 0);
    assert.equal(
      unknown.stderr,
      'note: the Gateway API bundle version of TLSRoute is unknown: the rules that depend on it (tlsroute-hostnames-required, rule-backendrefs-required) were not applied; pass --gateway-api-version vX.Y.Z to apply them\n',
    );
    const rules = async (v: string) => {
      const r = await runCli([
        'egress',
        'lint',
        '-f',
        'examples/guide',
        '-o',
        'json',
        '--gateway-api-version',
        v,
      ]);
      assert.equal(r.stderr, '');
      return {
        code: r.code,
        found: (JSON.parse(r.stdout) as { findings: { rule: string; location: string }[] }).findings.map(
          (f) => [f.rule, f.location],
        ),
      };
    };
    assert.deepEqual(await rules('v1.1.1'), {
      code: 0,
      found: [['tls-no-hostnames', 'examples/guide/20-routes.yaml:20']],
    });
    assert.deepEqual(await rules('1.5.1'), {
      code: 1,
      found: [
        ['tlsroute-hostnames-required', 'examples/guide/20-routes.yaml:20'],
        ['tls-no-hostnames', 'examples/guide/20-routes.yaml:20'],
      ],
    });
  });
});
