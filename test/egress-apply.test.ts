import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { SERVED } from '../src/sandbox/resources.js';
import { runCli } from './helpers/cli.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';

const type = (kind: string, group = 'gateway.networking.k8s.io') =>
  SERVED.find((r) => r.kind === kind && r.group === group)!;
const EN = () => SERVED.find((r) => r.kind === 'EgressNetwork')!;

describe('applying the Linkerd egress guide, one egressctl command per heredoc', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster();
    c.world.namespace('egress-test');
    c.world.service('egress-test', 'internal-egress');
  });
  after(() => c.close());

  test('deny → allow GET /get → TLSRoute → redirect: stored objects match the guide', async () => {
    const steps: [string[], string][] = [
      [['egress', 'deny'], 'egressnetwork.policy.linkerd.io/all-egress-traffic created\n'],
      [
        ['egress', 'route', 'http', 'httpbin-get', '--port', '80', '--path', '/get'],
        'httproute.gateway.networking.k8s.io/httpbin-get created\n',
      ],
      [
        ['egress', 'route', 'tls', 'tls-egress', '--port', '443', '--hostname', 'httpbin.org'],
        'tlsroute.gateway.networking.k8s.io/tls-egress created\n',
      ],
      [
        [
          'egress',
          'route',
          'http',
          'unencrypted-http',
          '--port',
          '80',
          '--backend',
          'svc/internal-egress:80',
        ],
        'httproute.gateway.networking.k8s.io/unencrypted-http created\n',
      ],
    ];
    for (const [args, out] of steps) {
      const r = await runCli(args, { env: c.env });
      assert.equal(r.stderr, '', args.join(' '));
      assert.equal(r.code, 0);
      assert.equal(r.stdout, out);
    }
    const en = c.server.store.get(EN(), 'egress-test', 'all-egress-traffic');
    assert.deepEqual(en?.spec, { trafficPolicy: 'Deny' });
    const parent = {
      group: 'policy.linkerd.io',
      kind: 'EgressNetwork',
      name: 'all-egress-traffic',
      namespace: 'egress-test',
    };
    assert.deepEqual(c.server.store.get(type('HTTPRoute'), 'egress-test', 'httpbin-get')?.spec, {
      parentRefs: [{ ...parent, port: 80 }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/get' } }] }],
    });
    assert.deepEqual(c.server.store.get(type('TLSRoute'), 'egress-test', 'tls-egress')?.spec, {
      parentRefs: [{ ...parent, port: 443 }],
      hostnames: ['httpbin.org'],
      // weight: the CRD's default, filled in by the API server as a real one does.
      rules: [
        {
          backendRefs: [
            { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic', weight: 1 },
          ],
        },
      ],
    });
    assert.deepEqual(c.server.store.get(type('HTTPRoute'), 'egress-test', 'unencrypted-http')?.spec, {
      parentRefs: [{ ...parent, port: 80 }],
      // The CRD's defaults: backendRef group/kind/weight and the catch-all path match.
      rules: [
        {
          backendRefs: [{ group: '', kind: 'Service', name: 'internal-egress', port: 80, weight: 1 }],
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        },
      ],
    });
    const applies = c.server.requests.filter((q) => q.method === 'PATCH');
    assert.ok(
      applies.every(
        (q) =>
          q.contentType === 'application/apply-patch+yaml' &&
          q.query.fieldManager === 'egressctl' &&
          // Conflicts are refused by default, as kubectl refuses them (--force-conflicts to take over).
          q.query.force === 'false',
      ),
    );
    // Each object is dry-run first, then applied.
    assert.deepEqual(
      applies.map((q) => q.query.dryRun ?? 'none'),
      steps.flatMap(() => ['All', 'none']),
    );
  });

  test('re-applying is idempotent; allow flips the policy and keeps fields other managers set', async () => {
    const again = await runCli(['egress', 'deny'], { env: c.env });
    assert.equal(again.stdout, 'egressnetwork.policy.linkerd.io/all-egress-traffic unchanged\n');
    // Another manager adds networks; egressctl's apply only owns trafficPolicy, so networks stay.
    c.server.store.apply(
      EN(),
      'egress-test',
      'all-egress-traffic',
      {
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic' },
        spec: { networks: [{ cidr: '203.0.113.0/24' }] },
      },
      { fieldManager: 'gitops', force: false, dryRun: false },
    );
    const allow = await runCli(['egress', 'allow'], { env: c.env });
    assert.equal(allow.stdout, 'egressnetwork.policy.linkerd.io/all-egress-traffic configured\n');
    assert.deepEqual(c.server.store.get(EN(), 'egress-test', 'all-egress-traffic')?.spec, {
      trafficPolicy: 'Allow',
      networks: [{ cidr: '203.0.113.0/24' }],
    });
  });

  test('--diff shows the change and exits 1; no change exits 0; nothing is written', async () => {
    const before = c.server.store.get(EN(), 'egress-test', 'all-egress-traffic')?.metadata.resourceVersion;
    const d = await runCli(['egress', 'deny', '--diff'], { env: c.env });
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stdout, /^--- egressnetwork\.policy\.linkerd\.io\/all-egress-traffic \(live\)\n/);
    assert.match(d.stdout, /\n- {3}trafficPolicy: Allow\n\+ {3}trafficPolicy: Deny\n/);
    assert.equal(
      c.server.store.get(EN(), 'egress-test', 'all-egress-traffic')?.metadata.resourceVersion,
      before,
    );
    const same = await runCli(['egress', 'allow', '--diff'], { env: c.env });
    assert.equal(same.code, 0);
    assert.equal(same.stdout, '');
  });

  test("--dry-run=server validates on the server and persists nothing; -o yaml prints the server's object", async () => {
    const r = await runCli(['egress', 'route', 'tcp', 'pg', '--port', '5432', '--dry-run=server'], {
      env: c.env,
    });
    assert.equal(r.stdout, 'tcproute.gateway.networking.k8s.io/pg created (server dry run)\n');
    assert.equal(c.server.store.get(type('TCPRoute'), 'egress-test', 'pg'), undefined);
    assert.equal(c.server.requests.at(-1)?.query.dryRun, 'All');
    const y = await runCli(['egress', 'route', 'tcp', 'pg', '--port', '5432', '-o', 'yaml'], { env: c.env });
    const obj = parseYaml(y.stdout) as { metadata: { uid: string; managedFields?: unknown } };
    assert.ok(obj.metadata.uid);
    assert.equal(obj.metadata.managedFields, undefined);
  });

  test('mixed route types on a port and a second TCPRoute are refused before anything is written', async () => {
    const tls = await runCli(['egress', 'route', 'tls', 'tls-on-80', '--port', '80', '--hostname', 'x.org'], {
      env: c.env,
    });
    assert.equal(tls.code, 2);
    assert.equal(
      tls.stderr,
      'error: refusing TLSRoute egress-test/tls-on-80: EgressNetwork egress-test/all-egress-traffic port 80 already has HTTPRoute egress-test/httpbin-get, HTTPRoute egress-test/unencrypted-http: Linkerd accepts only HTTPRoute on a port with mixed route types (precedence GRPCRoute > HTTPRoute > TLSRoute > TCPRoute), so this TLSRoute would be rejected as RouteReasonConflicted\n',
    );
    const tcp = await runCli(['egress', 'allow', 'tcp://:5432'], { env: c.env });
    assert.equal(tcp.code, 2);
    assert.match(
      tcp.stderr,
      /already has TCPRoute egress-test\/pg: Linkerd uses only one TCPRoute per port \(the oldest\)/,
    );
  });

  test('SSA conflicts are refused by default, naming the other manager and the field; --force-conflicts takes it', async () => {
    c.server.store.apply(
      EN(),
      'egress-test',
      'all-egress-traffic',
      {
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic' },
        spec: { trafficPolicy: 'Deny' },
      },
      { fieldManager: 'gitops', force: true, dryRun: false },
    );
    const refused =
      'error: refusing to apply: other field managers own fields egressctl would set (egressnetwork.policy.linkerd.io/all-egress-traffic: conflict with "gitops": .spec.trafficPolicy). Nothing was applied: re-run with --force-conflicts to take the fields over, and stop the other manager (a GitOps controller?) or it will take them back\n';
    // The default, and the old opt-out (now a no-op alias), both refuse.
    for (const args of [
      ['egress', 'allow'],
      ['egress', 'allow', '--no-force-conflicts'],
    ]) {
      const r = await runCli(args, { env: c.env });
      assert.equal(r.code, 3, args.join(' '));
      assert.equal(r.stderr, refused);
      assert.equal(r.stdout, '');
    }
    assert.equal(c.server.store.get(EN(), 'egress-test', 'all-egress-traffic')?.spec?.trafficPolicy, 'Deny');
    const forced = await runCli(['egress', 'allow', '--force-conflicts'], { env: c.env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(c.server.store.get(EN(), 'egress-test', 'all-egress-traffic')?.spec?.trafficPolicy, 'Allow');
  });

  test('nothing is applied when any object conflicts: every object is dry-run first', async () => {
    const HR = type('HTTPRoute');
    const route = (name: string, path: string) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name },
      spec: {
        parentRefs: [
          { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic', port: 80 },
        ],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }] }],
      },
    });
    // argocd owns the second route's rules; egressctl would create the first and change the second.
    c.server.store.apply(HR, 'egress-test', 'http-example-com-b', route('http-example-com-b', '/other'), {
      fieldManager: 'argocd-controller',
      force: true,
      dryRun: false,
    });
    const seen = c.server.requests.length;
    const r = await runCli(['egress', 'allow', 'http://example.com/a', 'http://example.com/b'], {
      env: c.env,
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /^error: refusing to apply: .*conflict with "argocd-controller": \.spec\.rules.*Nothing was applied/,
    );
    assert.equal(c.server.store.get(HR, 'egress-test', 'http-example-com-a'), undefined);
    const writes = c.server.requests.slice(seen).filter((q) => q.method === 'PATCH');
    assert.ok(writes.length > 0 && writes.every((q) => q.query.dryRun === 'All'), 'only dry runs were sent');
    c.server.store.delete(HR, 'egress-test', 'http-example-com-b');
  });

  test('a missing CRD says what to install, before anything is written', async () => {
    c.server.faults.notServed.add('tlsroutes.gateway.networking.k8s.io');
    try {
      const r = await runCli(['egress', 'allow', 'http://example.com/x', 'https://example.com'], {
        env: c.env,
      });
      assert.equal(r.code, 3);
      assert.equal(
        r.stderr,
        'error: the cluster does not serve TLSRoute (tlsroutes.gateway.networking.k8s.io/v1alpha2): it comes only with the Gateway API experimental channel: install that channel (kubectl apply --server-side -f experimental-install.yaml), or linkerd install --crds --set installGatewayAPI=true\n',
      );
      assert.equal(
        c.server.store.get(type('HTTPRoute'), 'egress-test', 'http-example-com-x'),
        undefined,
        'nothing half-applied',
      );
    } finally {
      c.server.faults.notServed.delete('tlsroutes.gateway.networking.k8s.io');
    }
    c.server.faults.notServed.add('egressnetworks.policy.linkerd.io');
    try {
      const r = await runCli(['egress', 'deny', 'x'], { env: c.env });
      assert.match(
        r.stderr,
        /^error: the cluster does not serve EgressNetwork \(egressnetworks\.policy\.linkerd\.io\/v1alpha1\): install the Linkerd 2\.17\+ CRDs/,
      );
    } finally {
      c.server.faults.notServed.delete('egressnetworks.policy.linkerd.io');
    }
  });

  test('RBAC 403 names the verb and resource; the dry run finds it, so nothing is applied', async () => {
    c.server.faults.deny.push({ verb: 'patch', resource: 'tlsroutes', namespace: 'egress-test' });
    try {
      const r = await runCli(
        ['egress', 'allow', 'http://a.example.com', 'https://b.example.com', 'grpc://c.example.com:9000'],
        { env: c.env },
      );
      assert.equal(r.code, 3);
      assert.equal(
        r.stderr,
        'error: apply tlsroute.gateway.networking.k8s.io/tls-b-example-com failed: tlsroutes.gateway.networking.k8s.io "tls-b-example-com" is forbidden: User "egressctl-test" cannot patch resource "tlsroutes" in API group "gateway.networking.k8s.io" in the namespace "egress-test" (403 Forbidden: ask a cluster admin for RBAC permission). Nothing was applied. Not attempted: grpcroute.gateway.networking.k8s.io/grpc-c-example-com-9000.\n',
      );
      assert.equal(c.server.store.get(type('HTTPRoute'), 'egress-test', 'http-a-example-com'), undefined);
    } finally {
      c.server.faults.deny.pop();
    }
  });

  test('a namespace that does not exist, and --global into a missing linkerd-egress, say to create it', async () => {
    const r = await runCli(['egress', 'deny', '--global'], { env: c.env });
    assert.equal(r.code, 3);
    assert.equal(
      r.stderr,
      'error: apply egressnetwork.policy.linkerd.io/all-egress-traffic failed: namespace linkerd-egress does not exist: create it first (kubectl create namespace linkerd-egress). Nothing was applied.\n',
    );
  });

  test('egress get shows networks, routes and their status; delete removes them', async () => {
    const g = await runCli(['egress', 'get'], { env: c.env });
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /^NAME\s+POLICY\s+PORT\s+MATCHES\s+BACKENDS\s+ACCEPTED\s+RESOLVED\n/);
    // gitops' last apply no longer listed networks, so server-side apply removed the ones it owned.
    assert.match(g.stdout, /EgressNetwork\/all-egress-traffic\s+Allow\s+\(all off-cluster\)/);
    assert.match(
      g.stdout,
      /\n {2}HTTPRoute\/unencrypted-http\s+80\s+\* prefix \/\s+svc\/internal-egress:80\s+-\s+-/,
    );
    assert.match(
      g.stderr,
      /warning: HTTPRoute egress-test\/httpbin-get is not yet accepted by linkerd\.io\/policy-controller on port 80: it has no effect until then/,
    );
    const json = JSON.parse((await runCli(['egress', 'get', '-o', 'json'], { env: c.env })).stdout) as {
      kind: string;
      items: { routes: unknown[] }[];
    };
    assert.equal(json.kind, 'EgressNetworkReport');
    assert.ok((json.items[0]?.routes.length ?? 0) >= 4);
    const del = await runCli(['egress', 'delete', 'tcproute/pg', 'tlsroute/nope'], { env: c.env });
    assert.equal(del.code, 3);
    assert.equal(del.stdout, 'tcproute.gateway.networking.k8s.io/pg deleted\n');
    assert.equal(
      del.stderr,
      'error: delete tlsroute.gateway.networking.k8s.io/nope failed: tlsroute.gateway.networking.k8s.io/nope not found in namespace egress-test (use --ignore-not-found to skip it). Already deleted: tcproute.gateway.networking.k8s.io/pg.\n',
    );
    const ign = await runCli(['egress', 'delete', 'tlsroute/nope', '--ignore-not-found'], { env: c.env });
    assert.equal(ign.code, 0);
  });
});
