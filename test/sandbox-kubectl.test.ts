/**
 * The real kubectl against `egressctl sandbox`: the Linkerd egress guide's heredocs applied verbatim
 * (linkerd/website `linkerd.io/content/2-edge/tasks/managing-egress-traffic.md`), discovery of every
 * version the CRDs serve, OpenAPI for validation and `explain`, printer columns and port-forward (both
 * of kubectl's protocols).
 * Skipped, naming Debian's package, when kubectl is not on PATH.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox.js';
import { SERVED } from '../src/sandbox/resources.js';
import { runCli } from './helpers/cli.js';

const KUBECTL = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const skip = KUBECTL ? false : 'kubectl is not on PATH (install the Debian package kubernetes-client)';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-kubectl-test-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `kubectl ...args` with `input` on stdin, against `kubeconfig`, with its discovery cache in a temp HOME. */
function kubectl(kubeconfig: string, args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, {
      env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfig },
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const type = (kind: string, group = '') =>
  SERVED.find((r) => r.kind === kind && r.group === group) as (typeof SERVED)[number];

// The guide's heredocs, verbatim (only the HTTPRoute v1alpha2 variant below differs).
const EGRESS_NETWORK = `apiVersion: policy.linkerd.io/v1alpha1
kind: EgressNetwork
metadata:
  namespace: egress-test
  name: all-egress-traffic
spec:
  trafficPolicy: Allow
`;
const CLIENT_POD = `apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: egress-test
  annotations:
    linkerd.io/inject: enabled
    config.linkerd.io/proxy-metrics-hostname-labels: "true"
spec:
  containers:
  - name: client
    image: curlimages/curl
    command:
      - "sh"
      - "-c"
      - "sleep infinity"
`;
const HTTPBIN_GET = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: httpbin-get
  namespace: egress-test
spec:
  parentRefs:
    - name: all-egress-traffic
      kind: EgressNetwork
      group: policy.linkerd.io
      namespace: egress-test
      port: 80
  rules:
    - matches:
      - path:
          value: "/get"
`;
const TLS_EGRESS_HTTPBIN = `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata:
  name: tls-egress
  namespace: egress-test
spec:
  hostnames:
  - httpbin.org
  parentRefs:
  - name: all-egress-traffic
    kind: EgressNetwork
    group: policy.linkerd.io
    namespace: egress-test
    port: 443
  rules:
  - backendRefs:
    - kind: EgressNetwork
      group: policy.linkerd.io
      name: all-egress-traffic
`;
const INTERNAL_EGRESS = `apiVersion: v1
kind: Service
metadata:
  name: internal-egress
  namespace: egress-test
spec:
  type: ClusterIP
  selector:
    app: internal-egress
  ports:
  - port: 80
    protocol: TCP
    name: one
---
apiVersion: apps/v1
kind: Deployment
metadata:
  namespace: egress-test
  name: internal-egress
spec:
  replicas: 1
  selector:
    matchLabels:
      app: internal-egress
  template:
    metadata:
      labels:
        app: internal-egress
      annotations:
        linkerd.io/inject: enabled
    spec:
      containers:
        - name: legacy-app
          image: buoyantio/bb:v0.0.5
          command: [ "sh", "-c"]
          args:
          - "/out/bb terminus --h1-server-port 80 --response-text 'You cannot go there right now' --fire-and-forget"
          ports:
            - name: http-port
              containerPort: 80
`;
const TLS_EGRESS_ALL = `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata:
  name: tls-egress
  namespace: egress-test
spec:
  parentRefs:
  - name: all-egress-traffic
    kind: EgressNetwork
    group: policy.linkerd.io
    namespace: egress-test
    port: 443
  rules:
  - backendRefs:
    - kind: EgressNetwork
      group: policy.linkerd.io
      name: all-egress-traffic
`;
const UNENCRYPTED_HTTP = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: unencrypted-http
  namespace: egress-test
spec:
  parentRefs:
    - name: all-egress-traffic
      kind: EgressNetwork
      group: policy.linkerd.io
      namespace: egress-test
      port: 80
  rules:
  - backendRefs:
    - kind: Service
      name: internal-egress
      port: 80
`;
/** Earlier revisions of the guide wrote their HTTPRoutes in v1alpha2, which Gateway API no longer serves. */
const HTTPBIN_GET_V1ALPHA2 = HTTPBIN_GET.replace(
  'gateway.networking.k8s.io/v1\n',
  'gateway.networking.k8s.io/v1alpha2\n',
);

const PARENT = {
  name: 'all-egress-traffic',
  kind: 'EgressNetwork',
  group: 'policy.linkerd.io',
  namespace: 'egress-test',
};

describe('the guide, step by step, with the real kubectl against an empty sandbox', { skip }, () => {
  let sb: Sandbox;
  let kc: string;
  const spec = (kind: string, group: string, name: string) =>
    sb.server.store.get(type(kind, group), 'egress-test', name)?.spec;
  const apply = async (yaml: string, expected: string) => {
    const r = await kubectl(kc, ['apply', '-f', '-'], yaml);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, expected);
    assert.equal(r.code, 0);
  };
  before(async () => {
    // No simulated client pod either: the guide creates it.
    sb = await startSandbox({ scenario: 'empty', pods: 0, tickMs: 50 });
    kc = path.join(dir, 'empty.kubeconfig');
    sb.server.writeKubeconfig(kc, { token: 'sandbox-token' });
  });
  after(() => sb.stop());

  test('kubectl create ns egress-test', async () => {
    const r = await kubectl(kc, ['create', 'ns', 'egress-test']);
    assert.deepEqual(r, { code: 0, stdout: 'namespace/egress-test created\n', stderr: '' });
    assert.ok(sb.server.store.get(type('Namespace'), undefined, 'egress-test'));
  });

  test('the EgressNetwork all-egress-traffic (Allow)', async () => {
    await apply(EGRESS_NETWORK, 'egressnetwork.policy.linkerd.io/all-egress-traffic created\n');
    assert.deepEqual(spec('EgressNetwork', 'policy.linkerd.io', 'all-egress-traffic'), {
      trafficPolicy: 'Allow',
    });
  });

  test('the client pod', async () => {
    await apply(CLIENT_POD, 'pod/client created\n');
    const pod = sb.server.store.get(type('Pod'), 'egress-test', 'client');
    assert.equal(pod?.metadata.annotations?.['config.linkerd.io/proxy-metrics-hostname-labels'], 'true');
    assert.deepEqual(pod?.spec?.containers, [
      { name: 'client', image: 'curlimages/curl', command: ['sh', '-c', 'sleep infinity'] },
    ]);
  });

  test('kubectl patch egressnetwork … --type=merge to Deny', async () => {
    const r = await kubectl(kc, [
      'patch',
      'egressnetwork',
      '-n',
      'egress-test',
      'all-egress-traffic',
      '-p',
      '{"spec":{"trafficPolicy": "Deny"}}',
      '--type=merge',
    ]);
    assert.deepEqual(r, {
      code: 0,
      stdout: 'egressnetwork.policy.linkerd.io/all-egress-traffic patched\n',
      stderr: '',
    });
    assert.deepEqual(spec('EgressNetwork', 'policy.linkerd.io', 'all-egress-traffic'), {
      trafficPolicy: 'Deny',
    });
  });

  test('the guide as older revisions wrote it: HTTPRoute v1alpha2 is refused as a real API server does', async () => {
    const r = await kubectl(kc, ['apply', '-f', '-'], HTTPBIN_GET_V1ALPHA2);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'error: resource mapping not found for name: "httpbin-get" namespace: "egress-test" from "STDIN": no matches for kind "HTTPRoute" in version "gateway.networking.k8s.io/v1alpha2"\n' +
        'ensure CRDs are installed first\n',
    );
    assert.equal(spec('HTTPRoute', 'gateway.networking.k8s.io', 'httpbin-get'), undefined);
    // egress lint -f names the fix.
    const file = path.join(dir, 'httpbin-get-v1alpha2.yaml');
    fs.writeFileSync(file, HTTPBIN_GET_V1ALPHA2);
    const lint = await runCli(['egress', 'lint', '-f', file, '-o', 'json']);
    assert.equal(lint.code, 1);
    const findings = (JSON.parse(lint.stdout) as { findings: { rule: string; message: string }[] }).findings;
    assert.deepEqual(
      findings.filter((f) => f.rule === 'version-not-served').map((f) => f.message),
      [
        `HTTPRoute gateway.networking.k8s.io/v1alpha2 is not served by Linkerd's CRDs: use v1 (apiVersion: gateway.networking.k8s.io/v1); the API server refuses it (kubectl: no matches for kind "HTTPRoute" in version "gateway.networking.k8s.io/v1alpha2")`,
      ],
    );
  });

  test('the HTTPRoute httpbin-get (v1), with the CRD default path type', async () => {
    await apply(HTTPBIN_GET, 'httproute.gateway.networking.k8s.io/httpbin-get created\n');
    assert.deepEqual(spec('HTTPRoute', 'gateway.networking.k8s.io', 'httpbin-get'), {
      parentRefs: [{ ...PARENT, port: 80 }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/get' } }] }],
    });
  });

  test('the TLSRoute tls-egress for httpbin.org', async () => {
    await apply(TLS_EGRESS_HTTPBIN, 'tlsroute.gateway.networking.k8s.io/tls-egress created\n');
    assert.deepEqual(spec('TLSRoute', 'gateway.networking.k8s.io', 'tls-egress'), {
      hostnames: ['httpbin.org'],
      parentRefs: [{ ...PARENT, port: 443 }],
      rules: [
        {
          backendRefs: [
            { kind: 'EgressNetwork', group: 'policy.linkerd.io', name: 'all-egress-traffic', weight: 1 },
          ],
        },
      ],
    });
  });

  test('the internal-egress Service and Deployment', async () => {
    await apply(
      INTERNAL_EGRESS,
      'service/internal-egress created\ndeployment.apps/internal-egress created\n',
    );
    const svc = sb.server.store.get(type('Service'), 'egress-test', 'internal-egress');
    assert.deepEqual((svc?.spec as { ports?: unknown }).ports, [{ port: 80, protocol: 'TCP', name: 'one' }]);
    assert.ok(sb.server.store.get(type('Deployment', 'apps'), 'egress-test', 'internal-egress'));
  });

  test('httpbin-get again (configured: the stored rules carry the CRD defaults), all TLS allowed, and the redirect of other plaintext', async () => {
    await apply(HTTPBIN_GET, 'httproute.gateway.networking.k8s.io/httpbin-get configured\n');
    await apply(TLS_EGRESS_ALL, 'tlsroute.gateway.networking.k8s.io/tls-egress configured\n');
    assert.equal(
      (spec('TLSRoute', 'gateway.networking.k8s.io', 'tls-egress') as { hostnames?: unknown }).hostnames,
      undefined,
    );
    await apply(UNENCRYPTED_HTTP, 'httproute.gateway.networking.k8s.io/unencrypted-http created\n');
    assert.deepEqual(spec('HTTPRoute', 'gateway.networking.k8s.io', 'unencrypted-http'), {
      parentRefs: [{ ...PARENT, port: 80 }],
      rules: [
        {
          backendRefs: [{ kind: 'Service', group: '', name: 'internal-egress', port: 80, weight: 1 }],
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        },
      ],
    });
  });

  test('printer columns: kubectl get egressnetworks and httproutes', async () => {
    const nets = await kubectl(kc, ['get', 'egressnetworks', '-n', 'egress-test']);
    assert.equal(nets.code, 0, nets.stderr);
    assert.match(nets.stdout, /^NAME {17}AGE\nall-egress-traffic {3}\d+s\n$/);
    const routes = await kubectl(kc, ['get', 'httproutes', '-A']);
    assert.equal(routes.code, 0, routes.stderr);
    assert.match(
      routes.stdout,
      /^NAMESPACE {5}NAME {15}HOSTNAMES {3}AGE\negress-test {3}httpbin-get {20}\d+s\negress-test {3}unencrypted-http {15}\d+s\n$/,
    );
  });

  test('every served version: HTTPRoute v1beta1 reads the object stored through v1', async () => {
    const r = await kubectl(kc, [
      'get',
      'httproutes.v1beta1.gateway.networking.k8s.io',
      '-n',
      'egress-test',
      'httpbin-get',
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { apiVersion: string; spec: unknown };
    assert.equal(o.apiVersion, 'gateway.networking.k8s.io/v1beta1');
    assert.deepEqual(o.spec, spec('HTTPRoute', 'gateway.networking.k8s.io', 'httpbin-get'));
    const versions = await kubectl(kc, ['api-versions']);
    assert.deepEqual(versions.stdout.trim().split('\n'), [
      'apps/v1',
      'batch/v1',
      'gateway.networking.k8s.io/v1',
      'gateway.networking.k8s.io/v1alpha2',
      'gateway.networking.k8s.io/v1beta1',
      'policy.linkerd.io/v1alpha1',
      'policy.linkerd.io/v1beta1',
      'policy.linkerd.io/v1beta2',
      'policy.linkerd.io/v1beta3',
      'v1',
    ]);
  });

  test('validation: an unknown field is refused (the server validates, as kubectl learns from /openapi/v3)', async () => {
    const r = await kubectl(
      kc,
      ['apply', '-f', '-'],
      EGRESS_NETWORK.replace('trafficPolicy: Allow', 'trafficPolicy: Allow\n  bogus: 1').replace(
        'all-egress-traffic',
        'other',
      ),
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Error from server (BadRequest): error when creating "STDIN": EgressNetwork in version "v1alpha1" cannot be handled as a EgressNetwork: strict decoding error: unknown field "spec.bogus"\n',
    );
  });

  test('kubectl apply --server-side', async () => {
    const r = await kubectl(
      kc,
      ['apply', '--server-side', '-f', '-'],
      EGRESS_NETWORK.replace('all-egress-traffic', 'ssa-net'),
    );
    assert.deepEqual(r, {
      code: 0,
      stdout: 'egressnetwork.policy.linkerd.io/ssa-net serverside-applied\n',
      stderr: '',
    });
    assert.deepEqual(spec('EgressNetwork', 'policy.linkerd.io', 'ssa-net'), { trafficPolicy: 'Allow' });
  });

  test('kubectl explain egressnetwork.spec reads the CRD schema', async () => {
    const r = await kubectl(kc, ['explain', 'egressnetwork.spec']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^GROUP: {6}policy\.linkerd\.io\nKIND: {7}EgressNetwork\nVERSION: {4}v1alpha1\n/);
    assert.match(r.stdout, /\n {2}trafficPolicy\t<string> -required-\n {2}enum: Allow, Deny\n/);
    assert.match(r.stdout, /\n {2}networks\t<\[\]Object>\n/);
  });
});

describe('kubectl against the default sandbox (the guide preloaded)', { skip }, () => {
  let sb: Sandbox;
  let kc: string;
  before(async () => {
    sb = await startSandbox({ tickMs: 50 });
    kc = path.join(dir, 'guide.kubeconfig');
    sb.server.writeKubeconfig(kc, { namespace: 'egress-test', token: 'sandbox-token' });
  });
  after(() => sb.stop());

  test('the default sandbox serves HTTPS, so kubectl sends its token: kubectl get pods -A', async () => {
    assert.match(sb.server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await kubectl(kc, ['get', 'pods', '-A']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0] ?? '', /^NAMESPACE\s+NAME\s+AGE$/);
    assert.match(rows[1] ?? '', /^egress-test\s+client\s+\d+s$/);
    assert.match(rows[2] ?? '', /^egress-test\s+internal-egress-[a-z0-9]+-[a-z0-9]{5}\s+\d+s$/);
  });

  test('kubectl get egressnetworks -n egress-test', async () => {
    const r = await kubectl(kc, ['get', 'egressnetworks', '-n', 'egress-test']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME {17}AGE\nall-egress-traffic {3}\d+s\n$/);
  });

  /**
   * `kubectl port-forward pod/client :4191` (KUBECTL_PORT_FORWARD_WEBSOCKETS=false: plain SPDY, as before
   * kubectl 1.31), then the proxy's /metrics fetched through the local port; returns the upgrade's method.
   */
  const forwardAndFetch = async (websockets: boolean): Promise<string | undefined> => {
    const before = sb.server.requests.length;
    const child = spawn('kubectl', ['port-forward', 'pod/client', ':4191'], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        KUBECONFIG: kc,
        ...(websockets ? {} : { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const end = Date.now() + 10_000;
      let port: string | undefined;
      while (!(port = /Forwarding from 127\.0\.0\.1:(\d+) -> 4191/.exec(out)?.[1])) {
        assert.ok(Date.now() < end, `kubectl port-forward printed: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.match(
        body,
        /^outbound_http_route_request_statuses_total\{.*route_name="http-egress-allow",hostname="httpbin\.org",http_status="200",error=""\} \d+$/m,
      );
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.on('close', r));
    }
    return sb.server.requests
      .slice(before)
      .find((r) => r.path === '/api/v1/namespaces/egress-test/pods/client/portforward')?.method;
  };

  test('kubectl port-forward: SPDY tunnelled in a WebSocket (kubectl 1.31+), then /metrics through it', async () => {
    assert.equal(await forwardAndFetch(true), 'GET');
  });

  test('kubectl port-forward: plain SPDY after an upgrade (older kubectl), then /metrics through it', async () => {
    assert.equal(await forwardAndFetch(false), 'POST');
  });

  test('a wrong token is 401 for kubectl too', async () => {
    const bad = path.join(dir, 'bad.kubeconfig');
    sb.server.writeKubeconfig(bad, { token: 'wrong' });
    const r = await kubectl(bad, ['get', 'pods', '-A']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)\n$/);
  });
});
