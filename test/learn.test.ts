// `egress learn`: the pure proposal against cases worked out by hand from docs/semantics.md, and the
// closed loop on the sandbox (learn, apply, deny: nothing learned is denied, anything new is).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseClusterNetworks } from '../src/manifests/validate.js';
import type { EgressLedger, LedgerFlow } from '../src/metrics/ledger.js';
import {
  LEARNED_FROM,
  type LearnOptions,
  isPublicSuffix,
  learnPolicy,
  proveLearned,
  wildcardHosts,
} from '../src/policy/learn.js';
import type { PolicyObject } from '../src/policy/types.js';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox.js';
import { runCli } from './helpers/cli.js';

const clusterNetworks = parseClusterNetworks(
  '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8',
);
const NS = 'egress-test';
const NET = { namespace: NS, name: 'all-egress-traffic' };
const allowAll: PolicyObject = {
  apiVersion: 'policy.linkerd.io/v1alpha1',
  kind: 'EgressNetwork',
  metadata: { name: 'all-egress-traffic', namespace: NS },
  spec: { trafficPolicy: 'Allow' },
};

function flow(p: Partial<LedgerFlow> & Pick<LedgerFlow, 'protocol' | 'destination' | 'port'>): LedgerFlow {
  return {
    client: { namespace: NS, workload: { kind: 'deployment', name: 'web' }, pods: [`${NS}/web-1`] },
    network: NET,
    route: { kind: 'default', namespace: '', name: `${p.protocol}-egress-allow`, default: true },
    verdict: 'allowed',
    redirectTo: null,
    counts: { requests: 10, connections: 0, denied: 0, failed: 0 },
    rate: 1,
    firstSeen: '2026-01-01T00:00:00.000Z',
    lastSeen: '2026-01-01T00:01:00.000Z',
    ...p,
  };
}

const ledgerOf = (flows: LedgerFlow[]): EgressLedger => ({
  apiVersion: 'egressctl.linkerd.io/v1',
  kind: 'EgressLedger',
  schemaVersion: 1,
  source: { kind: 'file', path: 'test' },
  window: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:01:00.000Z', seconds: 60 },
  notices: [],
  flows,
});

const opts: LearnOptions = {
  clusterNetworks,
  wildcards: undefined,
  includeDenied: false,
  defaultNetwork: 'all-egress-traffic',
};
const ctx = {
  clusterNetworks,
  globalNamespace: 'linkerd-egress',
  currentAssumeAccepted: true,
  namespace: NS,
};

/** Learns, proves, and returns the objects by `Kind/name`. */
function learn(flows: LedgerFlow[], current: PolicyObject[] = [allowAll], o: Partial<typeof opts> = {}) {
  const ledger = ledgerOf(flows);
  const l = learnPolicy(ledger, current, { ...opts, ...o });
  assert.deepEqual(proveLearned(ledger, current, l, ctx), [], 'the proposal keeps every kept flow');
  return { l, by: new Map(l.objects.map((m) => [`${m.kind}/${m.metadata.name}`, m])) };
}

describe('learn: the proposal, by hand from docs/semantics.md', () => {
  test('HTTP hosts: a Deny network and one HTTPRoute per port with exactly those hostnames', () => {
    const { l, by } = learn([
      flow({ protocol: 'http', destination: 'httpbin.org', port: 80 }),
      flow({ protocol: 'http', destination: 'api.example.com', port: 80 }),
      flow({ protocol: 'http', destination: 'api.example.com', port: 8080 }),
    ]);
    assert.deepEqual(
      [...by.keys()],
      ['EgressNetwork/all-egress-traffic', 'HTTPRoute/http-80', 'HTTPRoute/http-8080'],
    );
    assert.deepEqual(by.get('EgressNetwork/all-egress-traffic')?.spec, { trafficPolicy: 'Deny' });
    const r = by.get('HTTPRoute/http-80');
    assert.deepEqual(r?.spec, {
      parentRefs: [
        {
          group: 'policy.linkerd.io',
          kind: 'EgressNetwork',
          name: 'all-egress-traffic',
          namespace: NS,
          port: 80,
        },
      ],
      hostnames: ['api.example.com', 'httpbin.org'],
      rules: [{}],
    });
    assert.equal(
      r?.metadata.annotations?.[LEARNED_FROM],
      'pods=1 workloads=deployment/web window=2026-01-01T00:00:00.000Z/2026-01-01T00:01:00.000Z rate=2/s',
    );
    assert.equal(l.kept.length, 3);
  });

  test('TLS by SNI: a TLSRoute per port whose backend is the parent network; gRPC: a GRPCRoute', () => {
    // With a TLSRoute (GRPCRoute) on the port, the port speaks TLS (gRPC) and the metrics name the SNI
    // (authority) of the connections no route takes, on the default route.
    const parent = (port: number) => [
      { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic', namespace: NS, port },
    ];
    const tls: PolicyObject = {
      apiVersion: 'gateway.networking.k8s.io/v1alpha2',
      kind: 'TLSRoute',
      metadata: { name: 'tls-egress', namespace: NS },
      spec: {
        parentRefs: parent(443),
        hostnames: ['httpbin.org'],
        rules: [
          {
            backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic' }],
          },
        ],
      },
    };
    const grpc: PolicyObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      metadata: { name: 'grpc-other', namespace: NS },
      spec: { parentRefs: parent(9000), hostnames: ['other.example.com'], rules: [{}] },
    };
    const dflt = (p: string) => ({
      kind: 'default',
      namespace: '',
      name: `${p}-egress-allow`,
      default: true,
    });
    const { by } = learn(
      [
        flow({ protocol: 'tls', destination: 'github.com', port: 443, route: dflt('tls') }),
        flow({
          protocol: 'tls',
          destination: 'httpbin.org',
          port: 443,
          route: { kind: 'TLSRoute', namespace: NS, name: 'tls-egress', default: false },
        }),
        flow({ protocol: 'grpc', destination: 'grpcb.in', port: 9000, route: dflt('grpc') }),
      ],
      [allowAll, tls, grpc],
    );
    assert.deepEqual(
      [...by.keys()],
      ['EgressNetwork/all-egress-traffic', 'GRPCRoute/grpc-9000', 'TLSRoute/tls-443'],
    );
    assert.deepEqual(by.get('TLSRoute/tls-443')?.spec, {
      parentRefs: parent(443),
      hostnames: ['github.com', 'httpbin.org'],
      rules: [
        { backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic' }] },
      ],
    });
    assert.equal(by.get('GRPCRoute/grpc-9000')?.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.deepEqual(by.get('GRPCRoute/grpc-9000')?.spec.hostnames, ['grpcb.in']);
  });

  test('TCP ip:port: IPs sharing ports share one /32 Deny network with a TCPRoute per port', () => {
    const { by } = learn([
      flow({ protocol: 'tcp', destination: '198.51.100.60:5432', port: 5432 }),
      flow({ protocol: 'tcp', destination: '198.51.100.61:5432', port: 5432 }),
      flow({ protocol: 'tcp', destination: '203.0.113.7:6379', port: 6379 }),
    ]);
    assert.deepEqual(by.get('EgressNetwork/tcp-5432')?.spec, {
      trafficPolicy: 'Deny',
      networks: [{ cidr: '198.51.100.60/32' }, { cidr: '198.51.100.61/32' }],
    });
    assert.deepEqual(by.get('EgressNetwork/tcp-6379')?.spec.networks, [{ cidr: '203.0.113.7/32' }]);
    assert.deepEqual(by.get('TCPRoute/tcp-5432')?.spec.parentRefs, [
      { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'tcp-5432', namespace: NS, port: 5432 },
    ]);
    // No TCPRoute on the namespace network: a TCPRoute there would take every address on the port.
    assert.ok(
      ![...by.values()].some(
        (m) => m.kind === 'TCPRoute' && JSON.stringify(m.spec).includes('all-egress-traffic'),
      ),
    );
  });

  test('host routes also attach to the address networks (a /32 captures HTTP to its hosts too)', () => {
    const { by } = learn([
      flow({ protocol: 'http', destination: 'httpbin.org', port: 80 }),
      flow({ protocol: 'tcp', destination: '203.0.113.10:443', port: 443 }),
    ]);
    assert.deepEqual(
      (by.get('HTTPRoute/http-80')?.spec.parentRefs as { name: string }[]).map((p) => p.name),
      ['all-egress-traffic', 'tcp-443'],
    );
  });

  test('a redirect keeps its Service backend; a path-limited route that took flows is kept as it is', () => {
    const redirect: PolicyObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'unencrypted-http', namespace: NS },
      spec: {
        parentRefs: [
          {
            group: 'policy.linkerd.io',
            kind: 'EgressNetwork',
            name: 'all-egress-traffic',
            namespace: NS,
            port: 80,
          },
        ],
        rules: [{ backendRefs: [{ name: 'internal-egress', port: 80 }] }],
      },
    };
    const get: PolicyObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'httpbin-get', namespace: NS },
      spec: {
        parentRefs: [
          {
            group: 'policy.linkerd.io',
            kind: 'EgressNetwork',
            name: 'all-egress-traffic',
            namespace: NS,
            port: 80,
          },
        ],
        hostnames: ['httpbin.org'],
        rules: [{ matches: [{ path: { type: 'Exact', value: '/get' } }] }],
      },
    };
    const svc: PolicyObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'internal-egress', namespace: NS },
      spec: { clusterIP: '10.96.0.50', ports: [{ port: 80 }] },
    };
    const { by } = learn(
      [
        flow({
          protocol: 'http',
          destination: 'google.com',
          port: 80,
          verdict: 'redirected',
          redirectTo: `${NS}/internal-egress:80`,
          route: { kind: 'HTTPRoute', namespace: NS, name: 'unencrypted-http', default: false },
        }),
        flow({
          protocol: 'http',
          destination: 'httpbin.org',
          port: 80,
          route: { kind: 'HTTPRoute', namespace: NS, name: 'httpbin-get', default: false },
        }),
      ],
      [allowAll, redirect, get, svc],
    );
    assert.deepEqual(by.get('HTTPRoute/http-80-to-internal-egress-80')?.spec, {
      parentRefs: [
        {
          group: 'policy.linkerd.io',
          kind: 'EgressNetwork',
          name: 'all-egress-traffic',
          namespace: NS,
          port: 80,
        },
      ],
      hostnames: ['google.com'],
      rules: [{ backendRefs: [{ name: 'internal-egress', port: 80 }] }],
    });
    assert.deepEqual(by.get('HTTPRoute/httpbin-get')?.spec, get.spec);
  });

  test('--wildcards N: N siblings become *.parent, never over a public suffix', () => {
    assert.deepEqual(wildcardHosts(['a.example.com', 'b.example.com', 'c.example.com', 'x.org'], 3), [
      '*.example.com',
      'x.org',
    ]);
    assert.deepEqual(wildcardHosts(['a.example.com', 'b.example.com'], 3), [
      'a.example.com',
      'b.example.com',
    ]);
    // co.uk and github.io are public suffixes (ICANN and private sections): no *.co.uk, no *.github.io.
    assert.deepEqual(wildcardHosts(['a.co.uk', 'b.co.uk', 'c.co.uk'], 2), ['a.co.uk', 'b.co.uk', 'c.co.uk']);
    assert.deepEqual(wildcardHosts(['a.github.io', 'b.github.io'], 2), ['a.github.io', 'b.github.io']);
    assert.ok(isPublicSuffix('co.uk') && isPublicSuffix('github.io') && !isPublicSuffix('example.com'));
    const { by } = learn(
      ['a', 'b', 'c'].map((x) => flow({ protocol: 'http', destination: `${x}.api.example.com`, port: 80 })),
      [allowAll],
      { wildcards: 3 },
    );
    assert.deepEqual(by.get('HTTPRoute/http-80')?.spec.hostnames, ['*.api.example.com']);
  });

  test('denied flows are left out (and listed) unless --include-denied; no host: learning by host is impossible', () => {
    const denied = flow({ protocol: 'http', destination: 'evil.example', port: 80, verdict: 'denied' });
    const blind = flow({ protocol: 'http', destination: '', port: 80 });
    const { l, by } = learn([
      denied,
      blind,
      flow({ protocol: 'tcp', destination: '198.51.100.60:5432', port: 5432 }),
    ]);
    assert.deepEqual(
      l.leftOut.map((x) => x.reason),
      ['denied', 'no-host'],
    );
    assert.match(l.leftOut[1]?.message ?? '', /config\.linkerd\.io\/proxy-metrics-hostname-labels: "true"/);
    assert.ok(by.has('TCPRoute/tcp-5432'), 'learning by IP still works');
    assert.ok(!by.has('HTTPRoute/http-80'));
    const open = learn([denied], [allowAll], { includeDenied: true });
    assert.deepEqual(open.by.get('HTTPRoute/http-80')?.spec.hostnames, ['evil.example']);
    assert.equal(open.l.opened.length, 1);
  });
});

describe('learn on the sandbox: learn, apply, deny', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-learn-'));
  before(async () => {
    sb = await startSandbox({ tickMs: 50, rate: 20 });
    const kc = path.join(dir, 'kc');
    sb.server.writeKubeconfig(kc, { namespace: NS, token: 'sandbox-token' });
    env = { KUBECONFIG: kc };
  });
  after(() => sb.stop());

  const until = async (what: string, ok: () => boolean) => {
    const end = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('zero requests to a learned destination are denied; a destination never seen is', async () => {
    const out = path.join(dir, 'policy');
    const files = await runCli(['egress', 'learn', '--interval', '1s', '--out', out], { env });
    assert.equal(files.code, 0, files.stderr);
    assert.ok(
      files.stdout.includes(`${out}/egress-test.egressnetwork.all-egress-traffic.yaml\n`),
      files.stdout,
    );
    const plan = await runCli(
      ['egress', 'plan', '-f', out, '--replace', '--fail-on-break', '--interval', '1s'],
      { env },
    );
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    const applied = await runCli(['egress', 'learn', '--apply', '--force-conflicts'], { env });
    assert.equal(applied.code, 0, applied.stderr);
    const deny = await runCli(['egress', 'deny', '--force-conflicts'], { env });
    assert.equal(deny.code, 0, deny.stderr);
    await until('the learned routes', () => sb.latest().get('http://google.com/')?.route?.name === 'http-80');
    const before = sb.counts().deny ?? 0;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sb.counts().deny ?? 0, before, 'no request to a learned destination was denied');
    for (const [url, d] of sb.latest()) assert.notEqual(d.verdict, 'deny', url);
    sb.addDestination({ url: 'http://new.example.net/', ip: '203.0.113.99' });
    await until('the new destination', () => sb.latest().has('http://new.example.net/'));
    assert.equal(sb.latest().get('http://new.example.net/')?.verdict, 'deny');
    assert.ok((sb.counts().deny ?? 0) > before);
  });
});
