import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../src/sandbox/apiserver.js';
import { World } from '../src/sandbox/world.js';
import { generateServingCerts } from '../src/sandbox/x509.js';
import { fixture } from './helpers/cluster.js';

const EGRESS = fixture('proxy-metrics-egress.txt');
const TOKEN = 'test-token';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

/** One raw HTTP(S) request, no agent (nothing kept alive). */
function call(
  s: ApiServer,
  method: string,
  path: string,
  o: { body?: unknown; contentType?: string; token?: string | null } = {},
): Promise<Reply> {
  const url = new URL(path, s.url);
  const body =
    o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const headers: http.OutgoingHttpHeaders = {
    ...(o.token === null ? {} : { Authorization: `Bearer ${o.token ?? TOKEN}` }),
    ...(body !== undefined ? { 'Content-Type': o.contentType ?? 'application/json' } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      { method, headers, agent: false, ca: s.ca?.certPem },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let j: Record<string, unknown> = {};
          try {
            j = JSON.parse(text) as Record<string, unknown>;
          } catch {
            /* text bodies */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: j });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const apply = (s: ApiServer, path: string, obj: unknown, query = 'fieldManager=egressctl') =>
  call(s, 'PATCH', `${path}?${query}`, { body: obj, contentType: 'application/apply-patch+yaml' });

interface Forwarded {
  /** Every WebSocket message, as received. */
  frames: (Buffer | string)[];
  closeCode?: number;
  /** Set when the upgrade was refused. */
  status?: number;
  body?: string;
  protocol?: string;
}

/** A port-forward WebSocket: sends `request` on the data channel once open, collects every frame. */
function forward(
  s: ApiServer,
  ns: string,
  pod: string,
  ports: string,
  o: { protocols?: string[]; request?: string; onFrame?: (n: number, ws: WebSocket) => void } = {},
): Promise<Forwarded> {
  const url = `${s.url.replace(/^http/, 'ws')}/api/v1/namespaces/${ns}/pods/${pod}/portforward${ports ? `?${ports}` : ''}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, o.protocols ?? ['v4.channel.k8s.io'], {
      headers: { Authorization: `Bearer ${TOKEN}` },
      ca: s.ca?.certPem,
      perMessageDeflate: false,
    });
    const out: Forwarded = { frames: [] };
    ws.on('unexpected-response', (_req, res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ ...out, status: res.statusCode ?? 0, body: b }));
    });
    ws.on('open', () => {
      out.protocol = ws.protocol;
      const b64 = ws.protocol === 'v4.base64.channel.k8s.io';
      if (o.request !== undefined)
        ws.send(
          b64
            ? `0${Buffer.from(o.request).toString('base64')}`
            : Buffer.concat([Buffer.from([0]), Buffer.from(o.request)]),
        );
    });
    ws.on('message', (m: Buffer, isBinary: boolean) => {
      out.frames.push(isBinary ? m : m.toString());
      o.onFrame?.(out.frames.length, ws);
    });
    ws.on('close', (code) => resolve({ ...out, closeCode: code }));
    ws.on('error', (e) => (e.message.startsWith('Unexpected server response') ? undefined : reject(e)));
  });
}

const GET_METRICS = 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

/** The data-channel bytes after the port prefix, and the error-channel text. */
function channels(f: Forwarded, index = 0): { data: Buffer; error: string } {
  const frames = f.frames.map((m) =>
    typeof m === 'string'
      ? Buffer.concat([Buffer.from([m.charCodeAt(0) - 48]), Buffer.from(m.slice(1), 'base64')])
      : m,
  );
  const of = (ch: number) => frames.filter((m) => m[0] === ch).map((m) => m.subarray(1));
  const data = of(2 * index);
  const err = of(2 * index + 1);
  return { data: Buffer.concat(data.slice(1)), error: Buffer.concat(err.slice(1)).toString('utf8') };
}

/** Splits a raw HTTP/1.1 response (no chunking: the proxy admin sends Content-Length). */
function httpResponse(raw: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine?.split(' ')[1]), headers, body: raw.subarray(end + 4) };
}

async function withServer(o: ApiServerOptions, fn: (s: ApiServer, w: World) => Promise<void>): Promise<void> {
  const s = await startApiServer({ token: TOKEN, ...o });
  try {
    await fn(s, new World(s.store));
  } finally {
    await s.close();
  }
}

describe('x509: the in-process CA and serving certificate', () => {
  test('a CA and a leaf for 127.0.0.1 and localhost that node:crypto parses and verifies', () => {
    const { ca, server } = generateServingCerts();
    const caCert = new crypto.X509Certificate(ca.certPem);
    const leaf = new crypto.X509Certificate(server.certPem);
    assert.equal(caCert.ca, true);
    assert.equal(leaf.ca, false);
    assert.equal(caCert.subject, 'CN=egressctl-sandbox-ca');
    assert.equal(leaf.issuer, 'CN=egressctl-sandbox-ca');
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    assert.equal(leaf.checkIP('127.0.0.2'), undefined);
    assert.equal(leaf.verify(caCert.publicKey), true);
    assert.equal(caCert.verify(caCert.publicKey), true);
    assert.equal(leaf.verify(new crypto.X509Certificate(generateServingCerts().ca.certPem).publicKey), false);
    assert.equal(leaf.checkIssued(caCert), true);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: serverAuth');
    assert.ok(Date.parse(leaf.validTo) > Date.now());
  });

  test('a real TLS handshake trusts the server with the CA, and refuses it without', async () => {
    await withServer({}, async (s) => {
      const port = Number(new URL(s.url).port);
      const handshake = (o: tls.ConnectionOptions) =>
        new Promise<string>((resolve) => {
          const sock = tls.connect({ host: '127.0.0.1', port, ...o }, () => {
            resolve(sock.authorized ? 'authorized' : String(sock.authorizationError));
            sock.destroy();
          });
          sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        });
      assert.equal(await handshake({ ca: s.ca?.certPem }), 'authorized');
      assert.equal(await handshake({ ca: s.ca?.certPem, servername: 'localhost' }), 'authorized');
      assert.equal(await handshake({}), 'SELF_SIGNED_CERT_IN_CHAIN');
    });
  });
});

describe('the sandbox API server over HTTPS', () => {
  let s: ApiServer;
  let w: World;
  before(async () => {
    s = await startApiServer({
      token: TOKEN,
      metrics: (ns, pod) => (pod === 'silent' ? undefined : `# ${ns}/${pod}\n${EGRESS}`),
    });
    w = new World(s.store);
    w.pod('app', 'client', { labels: { app: 'client', tier: 'front' } });
    w.pod('app', 'worker', { labels: { app: 'worker' } });
    w.pod('app', 'pending', { labels: { app: 'worker' }, phase: 'Pending' });
    w.pod('app', 'plain', { injected: false, labels: { app: 'plain' } });
    w.pod('app', 'sidecar', { nativeSidecar: true, adminPort: 9991 });
    w.pod('app', 'unscheduled', { nodeName: null, phase: 'Pending' });
    w.pod('app', 'silent');
    w.pod('other', 'client', { labels: { app: 'client' } });
    w.deployment('app', 'web', { replicas: 2, oldReplicas: 1 });
    w.controller('StatefulSet', 'app', 'db', { replicas: 2 });
    w.cronJob('app', 'nightly', { jobs: 2 });
  });
  after(() => s.close());

  describe('discovery', () => {
    test('/api, /api/v1 with subresources, /apis, a group and a group-version', async () => {
      assert.deepEqual((await call(s, 'GET', '/api')).json.versions, ['v1']);
      const core = (await call(s, 'GET', '/api/v1')).json as {
        groupVersion: string;
        resources: Record<string, unknown>[];
      };
      assert.equal(core.groupVersion, 'v1');
      assert.deepEqual(
        core.resources.find((r) => r.name === 'pods'),
        {
          name: 'pods',
          singularName: 'pod',
          namespaced: true,
          kind: 'Pod',
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          shortNames: ['po'],
        },
      );
      assert.deepEqual(
        core.resources.find((r) => r.name === 'pods/portforward'),
        {
          name: 'pods/portforward',
          singularName: '',
          namespaced: true,
          kind: 'PodPortForwardOptions',
          verbs: ['create', 'get'],
        },
      );
      assert.equal(core.resources.find((r) => r.name === 'namespaces')?.namespaced, false);
      const names = core.resources.map((r) => r.name);
      assert.ok(names.indexOf('pods') < names.indexOf('pods/status'), 'main resources come first');
      const groups = (await call(s, 'GET', '/apis')).json.groups as {
        name: string;
        versions: { version: string }[];
      }[];
      assert.deepEqual(
        groups.map((g) => `${g.name}:${g.versions.map((v) => v.version).join(',')}`),
        [
          'apps:v1',
          'batch:v1',
          'policy.linkerd.io:v1alpha1,v1beta3',
          'gateway.networking.k8s.io:v1,v1alpha2',
        ],
      );
      const gw = (await call(s, 'GET', '/apis/gateway.networking.k8s.io')).json;
      assert.deepEqual(gw.preferredVersion, { groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' });
      const tlsList = (await call(s, 'GET', '/apis/gateway.networking.k8s.io/v1alpha2')).json as {
        resources: { name: string; kind: string }[];
      };
      assert.deepEqual(
        tlsList.resources.map((r) => `${r.name}:${r.kind}`),
        [
          'tlsroutes:TLSRoute',
          'tcproutes:TCPRoute',
          'tlsroutes/status:TLSRoute',
          'tcproutes/status:TCPRoute',
        ],
      );
      assert.equal((await call(s, 'GET', '/version')).json.major, '1');
    });

    test('a CRD not installed: its group-version and paths answer 404 page not found, like a real server', async () => {
      s.faults.notServed
        .add('tlsroutes.gateway.networking.k8s.io')
        .add('tcproutes.gateway.networking.k8s.io');
      try {
        for (const path of [
          '/apis/gateway.networking.k8s.io/v1alpha2',
          '/apis/gateway.networking.k8s.io/v1alpha2/namespaces/app/tlsroutes',
          '/apis/gateway.networking.k8s.io/v1alpha2/namespaces/app/tlsroutes/x',
        ]) {
          const r = await call(s, 'GET', path);
          assert.equal(r.status, 404, path);
          assert.equal(r.text, '404 page not found\n');
          assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
        }
        const gw = (await call(s, 'GET', '/apis/gateway.networking.k8s.io')).json as {
          versions: { version: string }[];
        };
        assert.deepEqual(
          gw.versions.map((v) => v.version),
          ['v1'],
        );
        s.faults.notServed.add('egressnetworks.policy.linkerd.io').add('httproutes.policy.linkerd.io');
        assert.equal((await call(s, 'GET', '/apis/policy.linkerd.io')).status, 404);
        const groups = (await call(s, 'GET', '/apis')).json.groups as { name: string }[];
        assert.ok(!groups.some((g) => g.name === 'policy.linkerd.io'));
      } finally {
        s.faults.notServed.clear();
      }
      assert.equal((await call(s, 'GET', '/apis/gateway.networking.k8s.io/v1alpha2')).status, 200);
    });
  });

  describe('get and list', () => {
    const names = (r: Reply) =>
      (r.json.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);

    test('a list has kind, apiVersion, the store resourceVersion and items without kind', async () => {
      const r = await call(s, 'GET', '/api/v1/namespaces/app/pods?labelSelector=app%3Dclient');
      assert.equal(r.status, 200);
      assert.equal(r.json.kind, 'PodList');
      assert.equal(r.json.apiVersion, 'v1');
      assert.equal((r.json.metadata as { resourceVersion: string }).resourceVersion, s.store.resourceVersion);
      assert.deepEqual(names(r), ['client']);
      assert.equal((r.json.items as Record<string, unknown>[])[0]?.kind, undefined);
    });

    test('label selectors: =, ==, !=, in, notin, exists, !key, and ANDed terms', async () => {
      const sel = async (q: string) =>
        names(await call(s, 'GET', `/api/v1/namespaces/app/pods?labelSelector=${encodeURIComponent(q)}`));
      assert.deepEqual(await sel('app==worker'), ['pending', 'worker']);
      assert.deepEqual(await sel('app in (client, plain)'), ['client', 'plain']);
      assert.deepEqual(await sel('app=worker,app!=client'), ['pending', 'worker']);
      assert.deepEqual(await sel('tier'), ['client']);
      assert.deepEqual(await sel('app notin (worker,web,db),!tier,app'), ['plain']);
      assert.deepEqual(await sel('!app').then((n) => n.filter((x) => !x.startsWith('nightly'))), [
        'sidecar',
        'silent',
        'unscheduled',
      ]);
      const bad = await call(s, 'GET', '/api/v1/namespaces/app/pods?labelSelector=a%3D%3D%3Db');
      assert.equal(bad.status, 400);
      assert.equal(bad.json.reason, 'BadRequest');
      assert.match(String(bad.json.message), /^unable to parse requirement: /);
    });

    test('field selectors and the all-namespaces paths', async () => {
      assert.deepEqual(names(await call(s, 'GET', '/api/v1/pods?fieldSelector=metadata.name%3Dclient')), [
        'client',
        'client',
      ]);
      const all = (await call(s, 'GET', '/api/v1/pods?fieldSelector=metadata.name%3Dclient')).json.items as {
        metadata: { namespace: string };
      }[];
      assert.deepEqual(
        all.map((i) => i.metadata.namespace),
        ['app', 'other'],
      );
      assert.deepEqual(
        names(await call(s, 'GET', '/api/v1/namespaces/app/pods?fieldSelector=status.phase%3DPending')),
        ['pending', 'unscheduled'],
      );
      assert.deepEqual(names(await call(s, 'GET', '/apis/apps/v1/statefulsets')), ['db']);
      const bad = await call(s, 'GET', '/api/v1/pods?fieldSelector=spec.foo%3Dx');
      assert.equal(bad.status, 400);
      assert.equal(bad.json.message, 'field label not supported: spec.foo');
    });

    test('workloads own their pods by uid: Deployment → ReplicaSets (one old, mid-rollout) → Pods; CronJob → Jobs → Pods', async () => {
      const dep = (await call(s, 'GET', '/apis/apps/v1/namespaces/app/deployments/web')).json as {
        metadata: { uid: string; generation: number; creationTimestamp: string; resourceVersion: string };
        spec: { selector: { matchLabels: Record<string, string> } };
      };
      assert.deepEqual(dep.spec.selector.matchLabels, { app: 'web' });
      assert.match(dep.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(dep.metadata.generation, 1);
      const rss = (await call(s, 'GET', '/apis/apps/v1/namespaces/app/replicasets?labelSelector=app%3Dweb'))
        .json.items as {
        metadata: {
          name: string;
          uid: string;
          ownerReferences: { uid: string; controller: boolean; kind: string }[];
        };
        spec: { replicas: number };
      }[];
      assert.equal(rss.length, 2);
      for (const rs of rss)
        assert.deepEqual(
          [
            rs.metadata.ownerReferences[0]?.uid,
            rs.metadata.ownerReferences[0]?.controller,
            rs.metadata.ownerReferences[0]?.kind,
          ],
          [dep.metadata.uid, true, 'Deployment'],
        );
      const pods = (await call(s, 'GET', '/api/v1/namespaces/app/pods?labelSelector=app%3Dweb')).json
        .items as {
        metadata: { ownerReferences: { uid: string }[] };
      }[];
      assert.equal(pods.length, 3);
      assert.deepEqual(
        rss
          .map((rs) => pods.filter((p) => p.metadata.ownerReferences[0]?.uid === rs.metadata.uid).length)
          .sort(),
        [1, 2],
      );
      const jobs = (await call(s, 'GET', '/apis/batch/v1/namespaces/app/jobs')).json.items as {
        metadata: { name: string; ownerReferences: { kind: string; name: string }[] };
      }[];
      assert.deepEqual(
        jobs.map(
          (j) =>
            `${j.metadata.name}<-${j.metadata.ownerReferences[0]?.kind}/${j.metadata.ownerReferences[0]?.name}`,
        ),
        ['nightly-29630000<-CronJob/nightly', 'nightly-29630001<-CronJob/nightly'],
      );
      const sidecar = (await call(s, 'GET', '/api/v1/namespaces/app/pods/sidecar')).json as {
        spec: {
          initContainers: {
            name: string;
            restartPolicy: string;
            ports: { name: string; containerPort: number }[];
          }[];
        };
      };
      assert.deepEqual(sidecar.spec.initContainers[0]?.restartPolicy, 'Always');
      assert.deepEqual(sidecar.spec.initContainers[0]?.ports[1], {
        name: 'linkerd-admin',
        containerPort: 9991,
        protocol: 'TCP',
      });
    });
  });

  describe('Status bodies', () => {
    test('404 for a missing object, core and CRD', async () => {
      const pod = await call(s, 'GET', '/api/v1/namespaces/app/pods/nope');
      assert.equal(pod.status, 404);
      assert.equal(pod.headers['content-type'], 'application/json');
      assert.deepEqual(pod.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'pods' },
        code: 404,
      });
      const route = await call(s, 'GET', '/apis/gateway.networking.k8s.io/v1/namespaces/app/httproutes/r');
      assert.equal(route.json.message, 'httproutes.gateway.networking.k8s.io "r" not found');
      assert.deepEqual(route.json.details, {
        name: 'r',
        group: 'gateway.networking.k8s.io',
        kind: 'httproutes',
      });
    });

    test('401 without or with a wrong token', async () => {
      for (const token of [null, 'wrong']) {
        const r = await call(s, 'GET', '/api/v1/namespaces/app/pods', { token });
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'Unauthorized',
          reason: 'Unauthorized',
          code: 401,
        });
      }
    });

    test('403 from the RBAC deny list, for lists, gets and CRDs', async () => {
      s.faults.deny.push(
        { verb: 'list', resource: 'pods', namespace: 'app' },
        { verb: 'get', resource: 'egressnetworks' },
      );
      try {
        const list = await call(s, 'GET', '/api/v1/namespaces/app/pods');
        assert.equal(list.status, 403);
        assert.deepEqual(list.json, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message:
            'pods is forbidden: User "egressctl-test" cannot list resource "pods" in API group "" in the namespace "app"',
          reason: 'Forbidden',
          details: { kind: 'pods' },
          code: 403,
        });
        assert.equal(
          (await call(s, 'GET', '/api/v1/namespaces/other/pods')).status,
          200,
          'other namespaces are allowed',
        );
        const en = await call(s, 'GET', '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/x');
        assert.equal(
          en.json.message,
          'egressnetworks.policy.linkerd.io "x" is forbidden: User "egressctl-test" cannot get resource "egressnetworks" in API group "policy.linkerd.io" in the namespace "app"',
        );
        assert.deepEqual(en.json.details, { name: 'x', group: 'policy.linkerd.io', kind: 'egressnetworks' });
      } finally {
        s.faults.deny.length = 0;
      }
    });
  });

  describe('writes', () => {
    const EN = '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks';
    const egress = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'policy.linkerd.io/v1alpha1',
      kind: 'EgressNetwork',
      metadata: { name },
      spec,
    });

    test('POST creates (201) once, then 409 AlreadyExists; DELETE returns the object, then 404', async () => {
      const created = await call(s, 'POST', EN, { body: egress('c', { trafficPolicy: 'Allow' }) });
      assert.equal(created.status, 201);
      const meta = created.json.metadata as {
        uid: string;
        resourceVersion: string;
        generation: number;
        namespace: string;
      };
      assert.match(meta.uid, /^[0-9a-f-]{36}$/);
      assert.equal(meta.generation, 1);
      assert.equal(meta.namespace, 'app');
      const again = await call(s, 'POST', EN, { body: egress('c', { trafficPolicy: 'Allow' }) });
      assert.equal(again.status, 409);
      assert.deepEqual(again.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'egressnetworks.policy.linkerd.io "c" already exists',
        reason: 'AlreadyExists',
        details: { name: 'c', group: 'policy.linkerd.io', kind: 'egressnetworks' },
        code: 409,
      });
      const del = await call(s, 'DELETE', `${EN}/c`);
      assert.equal(del.status, 200);
      assert.equal((del.json.metadata as { uid: string }).uid, meta.uid);
      assert.equal((await call(s, 'DELETE', `${EN}/c`)).status, 404);
      const noNs = await call(s, 'POST', '/apis/policy.linkerd.io/v1alpha1/namespaces/ghost/egressnetworks', {
        body: egress('c', { trafficPolicy: 'Allow' }),
      });
      assert.equal(noNs.status, 404);
      assert.equal(noNs.json.message, 'namespaces "ghost" not found');
    });

    test('server-side apply: 201 when created, 200 after, managedFields, generation, dryRun persists nothing', async () => {
      const dry = await apply(
        s,
        `${EN}/a`,
        egress('a', { trafficPolicy: 'Deny' }),
        'fieldManager=egressctl&dryRun=All',
      );
      assert.equal(dry.status, 201);
      assert.equal((await call(s, 'GET', `${EN}/a`)).status, 404, 'dryRun=All stores nothing');
      const first = await apply(s, `${EN}/a`, egress('a', { trafficPolicy: 'Deny' }));
      assert.equal(first.status, 201);
      const mf = (first.json.metadata as { managedFields: Record<string, unknown>[] }).managedFields;
      assert.equal(mf.length, 1);
      assert.deepEqual(
        { ...mf[0], time: 'T' },
        {
          manager: 'egressctl',
          operation: 'Apply',
          apiVersion: 'policy.linkerd.io/v1alpha1',
          time: 'T',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:trafficPolicy': {} } },
        },
      );
      const rv = (first.json.metadata as { resourceVersion: string }).resourceVersion;
      const same = await apply(s, `${EN}/a`, egress('a', { trafficPolicy: 'Deny' }));
      assert.equal(same.status, 200);
      assert.equal(
        (same.json.metadata as { resourceVersion: string }).resourceVersion,
        rv,
        'a no-op keeps the resourceVersion',
      );
      const flip = await apply(s, `${EN}/a`, egress('a', { trafficPolicy: 'Allow' }));
      assert.equal(flip.status, 200);
      assert.equal((flip.json.metadata as { generation: number }).generation, 2);
      const dryFlip = await apply(
        s,
        `${EN}/a`,
        egress('a', { trafficPolicy: 'Deny' }),
        'fieldManager=egressctl&dryRun=All',
      );
      assert.equal((dryFlip.json.spec as { trafficPolicy: string }).trafficPolicy, 'Deny');
      assert.equal(
        ((await call(s, 'GET', `${EN}/a`)).json.spec as { trafficPolicy: string }).trafficPolicy,
        'Allow',
      );
      const log = s.requests.filter((q) => q.method === 'PATCH' && q.path === `${EN}/a`);
      assert.deepEqual(log.at(-1), {
        method: 'PATCH',
        path: `${EN}/a`,
        query: { fieldManager: 'egressctl', dryRun: 'All' },
        contentType: 'application/apply-patch+yaml',
      });
    });

    test('a field another manager owns: 409 Conflict with causes; force takes it over; a YAML body works too', async () => {
      await apply(s, `${EN}/shared`, egress('shared', { trafficPolicy: 'Allow' }), 'fieldManager=gitops');
      const conflict = await apply(
        s,
        `${EN}/shared`,
        egress('shared', { trafficPolicy: 'Deny' }),
        'fieldManager=egressctl&force=false',
      );
      assert.equal(conflict.status, 409);
      assert.deepEqual(conflict.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Apply failed with 1 conflict: conflict with "gitops": .spec.trafficPolicy',
        reason: 'Conflict',
        details: {
          causes: [
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "gitops"',
              field: '.spec.trafficPolicy',
            },
          ],
        },
        code: 409,
      });
      // The same value is no conflict: both managers then share the field.
      assert.equal(
        (await apply(s, `${EN}/shared`, egress('shared', { trafficPolicy: 'Allow' }))).status,
        200,
      );
      const yamlBody =
        'apiVersion: policy.linkerd.io/v1alpha1\nkind: EgressNetwork\nmetadata:\n  name: shared\nspec:\n  trafficPolicy: Deny\n';
      const forced = await call(s, 'PATCH', `${EN}/shared?fieldManager=egressctl&force=true`, {
        body: yamlBody,
        contentType: 'application/apply-patch+yaml; charset=utf-8',
      });
      assert.equal(forced.status, 200);
      const mf = (forced.json.metadata as { managedFields: { manager: string }[] }).managedFields;
      assert.deepEqual(
        mf.map((m) => m.manager),
        ['egressctl'],
        'gitops lost its only field',
      );
      // An Update manager is named with its apiVersion.
      await call(s, 'PATCH', `${EN}/shared?fieldManager=kubectl-edit`, {
        body: { spec: { trafficPolicy: 'Allow' } },
        contentType: 'application/merge-patch+json',
      });
      const c2 = await apply(s, `${EN}/shared`, egress('shared', { trafficPolicy: 'Deny' }));
      assert.equal(
        c2.json.message,
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using policy.linkerd.io/v1alpha1: .spec.trafficPolicy',
      );
    });

    test('apply refuses: no fieldManager (422), force on a merge patch (422), bad dryRun (422), strategic merge on a CRD (415)', async () => {
      const noManager = await apply(s, `${EN}/x`, egress('x', { trafficPolicy: 'Deny' }), '');
      assert.equal(noManager.status, 422);
      assert.equal(
        noManager.json.message,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
      assert.deepEqual(noManager.json.details, {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ],
      });
      const force = await call(s, 'PATCH', `${EN}/x?force=true`, {
        body: {},
        contentType: 'application/merge-patch+json',
      });
      assert.equal(force.status, 422);
      assert.equal(
        force.json.message,
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
      );
      const dry = await apply(
        s,
        `${EN}/x`,
        egress('x', { trafficPolicy: 'Deny' }),
        'fieldManager=e&dryRun=Server',
      );
      assert.equal(dry.status, 422);
      assert.equal(dry.json.message, 'dryRun: Unsupported value: "Server": supported values: "All"');
      const smp = await call(s, 'PATCH', `${EN}/x`, {
        body: {},
        contentType: 'application/strategic-merge-patch+json',
      });
      assert.equal(smp.status, 415);
      assert.deepEqual(smp.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
        reason: 'UnsupportedMediaType',
        code: 415,
      });
    });

    test('status subresource: merge patch and PUT write status only; apply on the main resource never touches it', async () => {
      await apply(s, `${EN}/st`, egress('st', { trafficPolicy: 'Allow' }));
      const condition = {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: '',
        lastTransitionTime: '2026-11-28T06:00:00Z',
      };
      const patched = await call(s, 'PATCH', `${EN}/st/status`, {
        body: { status: { conditions: [condition] }, spec: { trafficPolicy: 'Deny' } },
        contentType: 'application/merge-patch+json',
      });
      assert.equal(patched.status, 200);
      assert.deepEqual(patched.json.status, { conditions: [condition] });
      assert.deepEqual(patched.json.spec, { trafficPolicy: 'Allow' }, 'spec is not written through /status');
      assert.equal((patched.json.metadata as { generation: number }).generation, 1);
      const applied = await apply(s, `${EN}/st`, {
        ...egress('st', { trafficPolicy: 'Deny' }),
        status: { conditions: [] },
      });
      assert.deepEqual(applied.json.status, { conditions: [condition] });
      const put = await call(s, 'PUT', `${EN}/st/status`, {
        body: { ...egress('st', {}), status: { conditions: [] } },
      });
      assert.equal(put.status, 200);
      assert.deepEqual(put.json.status, { conditions: [] });
      const badStatus = await call(s, 'PATCH', `${EN}/st/status`, {
        body: { status: { conditions: [{ ...condition, status: 'Yes' }] } },
        contentType: 'application/merge-patch+json',
      });
      assert.equal(badStatus.status, 422);
      assert.equal(
        badStatus.json.message,
        'EgressNetwork.policy.linkerd.io "st" is invalid: status.conditions[0].status: Unsupported value: "Yes": supported values: "True", "False", "Unknown"',
      );
      const events: string[] = [];
      s.store.on('change', (e: { type: string; object: { metadata: { name: string } } }) =>
        events.push(`${e.type} ${e.object.metadata.name}`),
      );
      await call(s, 'PATCH', `${EN}/st/status`, {
        body: { status: { conditions: [condition] } },
        contentType: 'application/merge-patch+json',
      });
      await call(s, 'DELETE', `${EN}/st`);
      s.store.removeAllListeners('change');
      assert.deepEqual(events, ['MODIFIED st', 'DELETED st']);
    });

    test('merge patch and JSON patch on the main resource; PUT with a stale resourceVersion is a 409', async () => {
      await apply(
        s,
        `${EN}/p`,
        egress('p', { trafficPolicy: 'Allow', networks: [{ cidr: '203.0.113.0/24' }] }),
      );
      const merged = await call(s, 'PATCH', `${EN}/p`, {
        body: { spec: { networks: null } },
        contentType: 'application/merge-patch+json',
      });
      assert.deepEqual(merged.json.spec, { trafficPolicy: 'Allow' });
      const jp = await call(s, 'PATCH', `${EN}/p`, {
        body: [{ op: 'replace', path: '/spec/trafficPolicy', value: 'Deny' }],
        contentType: 'application/json-patch+json',
      });
      assert.deepEqual(jp.json.spec, { trafficPolicy: 'Deny' });
      const live = jp.json as { metadata: { resourceVersion: string } };
      const put = await call(s, 'PUT', `${EN}/p`, {
        body: { ...egress('p', { trafficPolicy: 'Allow' }), metadata: { name: 'p', resourceVersion: '1' } },
      });
      assert.equal(put.status, 409);
      assert.equal(
        put.json.message,
        'Operation cannot be fulfilled on egressnetworks.policy.linkerd.io "p": the object has been modified; please apply your changes to the latest version and try again',
      );
      const ok = await call(s, 'PUT', `${EN}/p`, {
        body: {
          ...egress('p', { trafficPolicy: 'Allow' }),
          metadata: { name: 'p', resourceVersion: live.metadata.resourceVersion },
        },
      });
      assert.equal(ok.status, 200);
      assert.equal((ok.json.metadata as { generation: number }).generation, 4, 'three spec changes');
    });
  });

  describe("validation: the CRD schemas and Linkerd's webhook", () => {
    const GW = '/apis/gateway.networking.k8s.io';
    const route = (kind: string, spec: Record<string, unknown>, name = 'r') => ({
      apiVersion:
        kind === 'TLSRoute' || kind === 'TCPRoute'
          ? 'gateway.networking.k8s.io/v1alpha2'
          : 'gateway.networking.k8s.io/v1',
      kind,
      metadata: { name },
      spec,
    });
    const parent = { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' };

    test('422 Invalid with causes, worded like kube-apiserver', async () => {
      // The schema requires spec.rules on a TCPRoute (not parentRefs on any route: that is Linkerd's use).
      const r = await apply(
        s,
        `${GW}/v1alpha2/namespaces/app/tcproutes/r`,
        route('TCPRoute', { parentRefs: [{ ...parent, port: 5432 }] }),
      );
      assert.equal(r.status, 422);
      assert.deepEqual(r.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'TCPRoute.gateway.networking.k8s.io "r" is invalid: spec.rules: Required value',
        reason: 'Invalid',
        details: {
          name: 'r',
          group: 'gateway.networking.k8s.io',
          kind: 'TCPRoute',
          causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.rules' }],
        },
        code: 422,
      });
      const many = await apply(s, '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/bad', {
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'bad' },
        spec: { trafficPolicy: 'Maybe', networks: [{}] },
      });
      assert.equal(
        many.json.message,
        'EgressNetwork.policy.linkerd.io "bad" is invalid: [spec.trafficPolicy: Unsupported value: "Maybe": supported values: "Allow", "Deny", spec.networks[0].cidr: Required value]',
      );
      const port = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/r`,
        route('HTTPRoute', { parentRefs: [{ ...parent, port: 70000 }], hostnames: ['Not_A_Host'] }),
      );
      assert.deepEqual(
        (port.json.details as { causes: { field: string; reason: string }[] }).causes.map(
          (c) => `${c.field} ${c.reason}`,
        ),
        ['spec.parentRefs[0].port FieldValueInvalid', 'spec.hostnames[0] FieldValueInvalid'],
      );
      assert.match(
        String(port.json.message),
        /spec\.parentRefs\[0\]\.port: Invalid value: 70000: spec\.parentRefs\[0\]\.port in body should be less than or equal to 65535/,
      );
      const typed = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/r`,
        route('HTTPRoute', { parentRefs: [{ ...parent, port: '80' }] }),
      );
      assert.match(
        String(typed.json.message),
        /spec\.parentRefs\[0\]\.port: Invalid value: "string": spec\.parentRefs\[0\]\.port in body must be of type integer: "string"/,
      );
      const created = await call(s, 'POST', `${GW}/v1/namespaces/app/grpcroutes`, {
        body: route('GRPCRoute', { parentRefs: [{ ...parent, port: 0 }] }, 'g'),
      });
      assert.equal(created.status, 422, 'create validates too');
      const noSpec = await apply(s, `${GW}/v1/namespaces/app/httproutes/r`, {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'r' },
      });
      assert.equal(
        noSpec.json.message,
        'HTTPRoute.gateway.networking.k8s.io "r" is invalid: spec: Required value',
      );
    });

    test('defaults from the schema are stored; unknown fields are pruned with a warning, or refused with fieldValidation=Strict', async () => {
      const r = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/d`,
        route(
          'HTTPRoute',
          {
            parentRefs: [{ ...parent, port: 80 }],
            rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }],
            extra: 1,
          },
          'd',
        ),
      );
      assert.equal(r.status, 201);
      assert.equal(r.headers.warning, '299 - "unknown field \\"spec.extra\\""');
      assert.deepEqual(r.json.spec, {
        parentRefs: [{ ...parent, port: 80 }],
        rules: [
          {
            backendRefs: [{ group: '', kind: 'Service', name: 'svc', port: 80, weight: 1 }],
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          },
        ],
      });
      const mf = (r.json.metadata as { managedFields: { fieldsV1: unknown }[] }).managedFields;
      assert.deepEqual(
        mf[0]?.fieldsV1,
        { 'f:spec': { 'f:parentRefs': {}, 'f:rules': {} } },
        'defaults are not owned',
      );
      const strict = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/d`,
        route('HTTPRoute', { parentRefs: [{ ...parent, port: 80 }], extra: 1 }, 'd'),
        'fieldManager=egressctl&fieldValidation=Strict',
      );
      assert.equal(strict.status, 400);
      assert.equal(
        strict.json.message,
        'failed to create typed patch object (app/d; gateway.networking.k8s.io/v1, Kind=HTTPRoute): .spec.extra: field not declared in schema',
      );
    });

    test('Linkerd admission: networks [], exceptions outside or negating the cidr, EgressNetwork parents without a port, one rule for TLS/TCP', async () => {
      const denied = (msg: string) => ({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `admission webhook "linkerd-policy-validator.linkerd.io" denied the request: ${msg}`,
        code: 400,
      });
      const EN = '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/n';
      const en = (networks: unknown) => ({
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'n' },
        spec: { trafficPolicy: 'Allow', networks },
      });
      assert.deepEqual((await apply(s, EN, en([]))).json, denied('at least one network must be specified'));
      assert.deepEqual(
        (await apply(s, EN, en([{ cidr: '203.0.113.0/24', except: ['198.51.100.0/24'] }]))).json,
        denied("cidr '203.0.113.0/24' does not include exception '198.51.100.0/24'"),
      );
      assert.deepEqual(
        (await apply(s, EN, en([{ cidr: '203.0.113.0/24', except: ['203.0.0.0/16'] }]))).json,
        denied("cidr '203.0.113.0/24' is completely negated by exception '203.0.0.0/16'"),
      );
      assert.equal(
        (await apply(s, EN, en([{ cidr: '203.0.113.0/24', except: ['203.0.113.7'] }]))).status,
        201,
      );
      const noPort = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/np`,
        route('HTTPRoute', { parentRefs: [parent] }, 'np'),
      );
      assert.deepEqual(noPort.json, denied('cannot target an EgressNetwork without specifying a port'));
      const tls2 = await apply(
        s,
        `${GW}/v1alpha2/namespaces/app/tlsroutes/t`,
        route(
          'TLSRoute',
          {
            parentRefs: [{ ...parent, port: 443 }],
            hostnames: ['a.example.com'],
            rules: [{ backendRefs: [{ name: 'a', port: 443 }] }, { backendRefs: [{ name: 'b', port: 443 }] }],
          },
          't',
        ),
      );
      assert.deepEqual(tls2.json, denied('TlsRoute supports a single rule only'));
      const tcp0 = await apply(
        s,
        `${GW}/v1alpha2/namespaces/app/tcproutes/t`,
        route(
          'TCPRoute',
          { parentRefs: [{ ...parent, port: 5432 }], rules: [{ backendRefs: [{ ...parent, port: 5432 }] }] },
          't',
        ),
      );
      assert.equal(tcp0.status, 201);
    });
  });

  describe('pods/portforward over WebSocket', () => {
    test('v4.channel.k8s.io, frame by frame: port prefixes on data and error channels, the response, close 1000', async () => {
      const f = await forward(s, 'app', 'client', 'ports=4191', {
        protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
        request: GET_METRICS,
      });
      assert.equal(f.protocol, 'v4.channel.k8s.io');
      assert.deepEqual(f.frames[0], Buffer.from([0x00, 0x5f, 0x10]));
      assert.deepEqual(f.frames[1], Buffer.from([0x01, 0x5f, 0x10]));
      assert.ok(
        f.frames.slice(2).every((m) => (m as Buffer)[0] === 0),
        'everything after the prefixes is data',
      );
      assert.equal(f.closeCode, 1000);
      const { data, error } = channels(f);
      assert.equal(error, '');
      const res = httpResponse(data);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'text/plain');
      assert.equal(res.body.toString('utf8'), `# app/client\n${EGRESS}`);
      assert.equal(Number(res.headers['content-length']), res.body.length);
      assert.equal(s.requests.at(-1)?.path, '/api/v1/namespaces/app/pods/client/portforward');
    });

    test('v4.base64.channel.k8s.io text frames; gzip when asked; a native sidecar on a custom admin port', async () => {
      const f = await forward(s, 'app', 'sidecar', 'ports=9991', {
        protocols: ['v4.base64.channel.k8s.io'],
        request:
          'GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n',
      });
      assert.equal(f.frames[0], `0${Buffer.from([0x07, 0x27]).toString('base64')}`);
      assert.equal(f.frames[1], `1${Buffer.from([0x07, 0x27]).toString('base64')}`);
      const res = httpResponse(channels(f).data);
      assert.equal(res.headers['content-encoding'], 'gzip');
      assert.equal(zlib.gunzipSync(res.body).toString('utf8'), `# app/sidecar\n${EGRESS}`);
      assert.equal(f.closeCode, 1000);
    });

    test("two ports in one stream: channels 0/1 and 2/3; a port with no listener gets kubelet's refusal on its error channel", async () => {
      const f = await forward(s, 'app', 'client', 'ports=4191,8080', { request: GET_METRICS });
      assert.deepEqual(f.frames.slice(0, 4), [
        Buffer.from([0, 0x5f, 0x10]),
        Buffer.from([1, 0x5f, 0x10]),
        Buffer.from([2, 0x90, 0x1f]),
        Buffer.from([3, 0x90, 0x1f]),
      ]);
      assert.match(
        channels(f, 1).error,
        /^error forwarding port 8080 to pod [0-9a-f]{64}, uid : failed to execute portforward in network namespace "\/var\/run\/netns\/cni-[^"]+": failed to connect to localhost:8080 inside namespace "[0-9a-f]{64}", IPv4: dial tcp4 127\.0\.0\.1:8080: connect: connection refused/,
      );
      assert.equal(httpResponse(channels(f, 0).data).status, 200);
      assert.equal(f.closeCode, 1000);
    });

    test('a pod that is not injected has no admin port: refused on the error channel; a pod with no metrics answers 404', async () => {
      const plain = await forward(s, 'app', 'plain', 'ports=4191', { request: GET_METRICS });
      assert.match(channels(plain).error, /connect: connection refused/);
      assert.equal(channels(plain).data.length, 0);
      assert.equal(plain.closeCode, 1000);
      const silent = await forward(s, 'app', 'silent', 'ports=4191', { request: GET_METRICS });
      assert.equal(httpResponse(channels(silent).data).status, 404);
    });

    test('refusals before the upgrade: 404 pod, 400 no host, 400 no ports, 403 empty for unsupported subprotocols, 401, 403 RBAC', async () => {
      const missing = await forward(s, 'app', 'nope', 'ports=4191');
      assert.equal(missing.status, 404);
      assert.deepEqual(JSON.parse(missing.body ?? ''), {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'pods' },
        code: 404,
      });
      const nohost = await forward(s, 'app', 'unscheduled', 'ports=4191');
      assert.equal(nohost.status, 400);
      assert.equal(
        (JSON.parse(nohost.body ?? '') as { message: string }).message,
        'pod unscheduled does not have a host assigned',
      );
      const noports = await forward(s, 'app', 'client', '');
      assert.deepEqual([noports.status, noports.body], [400, 'query parameter "port" is required']);
      const proto = await forward(s, 'app', 'client', 'ports=4191', {
        protocols: ['v5.channel.k8s.io', 'channel.k8s.io'],
      });
      assert.deepEqual([proto.status, proto.body], [403, '']);
      s.faults.deny.push({ verb: 'create', resource: 'pods/portforward', namespace: 'app' });
      try {
        const rbac = await forward(s, 'app', 'client', 'ports=4191');
        assert.equal(rbac.status, 403);
        assert.equal(
          (JSON.parse(rbac.body ?? '') as { message: string }).message,
          'pods "client" is forbidden: User "egressctl-test" cannot create resource "pods/portforward" in API group "" in the namespace "app"',
        );
      } finally {
        s.faults.deny.length = 0;
      }
      const anon = await new Promise<number>((resolve) => {
        const ws = new WebSocket(
          `${s.url.replace('https', 'wss')}/api/v1/namespaces/app/pods/client/portforward?ports=4191`,
          ['v4.channel.k8s.io'],
          { ca: s.ca?.certPem },
        );
        ws.on('unexpected-response', (_q, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
      });
      assert.equal(anon, 401);
    });

    test('every pod fault switch', async () => {
      const set = (pod: string, f: Parameters<typeof s.faults.pods.set>[1]) =>
        s.faults.pods.set(`app/${pod}`, f);
      try {
        set('client', 'forbid-portforward');
        const forbidden = await forward(s, 'app', 'client', 'ports=4191');
        assert.equal(forbidden.status, 403);
        assert.equal(
          (JSON.parse(forbidden.body ?? '') as { message: string }).message,
          'pods "client" is forbidden: User "egressctl-test" cannot get resource "pods/portforward" in API group "" in the namespace "app"',
        );
        set('client', 'not-running');
        const notRunning = await forward(s, 'app', 'client', 'ports=4191');
        assert.equal(notRunning.status, 500);
        assert.match(
          notRunning.body ?? '',
          /^failed to find sandboxID for pod "client_app\([0-9a-f-]{36}\)"$/,
        );
        set('client', 'refuse');
        const refused = await forward(s, 'app', 'client', 'ports=4191', { request: GET_METRICS });
        assert.match(
          channels(refused).error,
          /^error forwarding port 4191 to pod .*connect: connection refused/,
        );
        assert.equal(refused.closeCode, 1000);
        set('client', 'close-mid-body');
        const cut = await forward(s, 'app', 'client', 'ports=4191', { request: GET_METRICS });
        const short = httpResponse(channels(cut).data);
        assert.equal(short.status, 200);
        assert.equal(short.body.length, Math.floor(Number(short.headers['content-length']) / 2));
        assert.equal(cut.closeCode, 1000);
        set('client', 'http-500');
        assert.equal(
          httpResponse(
            channels(await forward(s, 'app', 'client', 'ports=4191', { request: GET_METRICS })).data,
          ).status,
          500,
        );
        set('client', 'gzip');
        const gz = httpResponse(
          channels(await forward(s, 'app', 'client', 'ports=4191', { request: GET_METRICS })).data,
        );
        assert.equal(
          gz.headers['content-encoding'],
          'gzip',
          'gzip even though the request did not ask for it',
        );
        assert.equal(zlib.gunzipSync(gz.body).toString(), `# app/client\n${EGRESS}`);
      } finally {
        s.faults.pods.clear();
      }
    });

    test('metricsFor can be swapped while serving', async () => {
      const before = s.metricsFor;
      s.metricsFor = () => 'live 1\n';
      try {
        const f = await forward(s, 'app', 'worker', 'ports=4191', { request: GET_METRICS });
        assert.equal(httpResponse(channels(f).data).body.toString(), 'live 1\n');
      } finally {
        s.metricsFor = before;
      }
    });
  });
});

describe('hangs, and close() tearing everything down', () => {
  test('a pod that never answers: the WebSocket stays open after the port frames until the server closes', async () => {
    const s = await startApiServer({ token: TOKEN, metrics: () => EGRESS });
    new World(s.store).pod('app', 'quiet');
    s.faults.pods.set('app/quiet', 'hang');
    const f = await forward(s, 'app', 'quiet', 'ports=4191', {
      request: GET_METRICS,
      onFrame: (n) => {
        if (n === 2) setImmediate(() => void s.close());
      },
    });
    assert.equal(f.frames.length, 2, 'only the port prefixes');
    assert.equal(f.closeCode, 1006, 'terminated by close(), not a clean close');
  });

  for (const [what, key] of [
    ['hangAll: TCP accepted, HTTP never answered', 'hangAll'],
    ['hangUpgrades: the WebSocket handshake never completes', 'hangUpgrades'],
  ] as const) {
    test(what, async () => {
      const s = await startApiServer({ token: TOKEN, tls: false, metrics: () => EGRESS });
      new World(s.store).pod('app', 'client');
      s.faults[key] = true;
      const seen = s.requests.length;
      const outcome =
        key === 'hangAll'
          ? call(s, 'GET', '/api/v1/namespaces/app/pods').then(
              () => 'answered',
              (e: NodeJS.ErrnoException) => e.code,
            )
          : new Promise<string>((resolve) => {
              const ws = new WebSocket(
                `${s.url.replace('http', 'ws')}/api/v1/namespaces/app/pods/client/portforward?ports=4191`,
                ['v4.channel.k8s.io'],
                { headers: { Authorization: `Bearer ${TOKEN}` } },
              );
              ws.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
              ws.on('open', () => resolve('opened'));
            });
      // Close once the server has the request in hand (it logs it, then hangs).
      while (s.requests.length === seen) await new Promise((r) => setImmediate(r));
      await s.close();
      assert.equal(await outcome, 'ECONNRESET');
    });
  }

  test('plain HTTP: kubeconfig with insecure-skip-tls-verify and a token', async () => {
    await withServer({ tls: false }, async (s, w) => {
      w.pod('app', 'client');
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(s.ca, undefined);
      assert.equal(
        s.kubeconfig({ namespace: 'app' }),
        `apiVersion: v1
kind: Config
current-context: sandbox
clusters:
  - name: sandbox
    cluster:
      server: ${s.url}
      insecure-skip-tls-verify: true
users:
  - name: sandbox-user
    user:
      token: ${TOKEN}
contexts:
  - name: sandbox
    context:
      cluster: sandbox
      user: sandbox-user
      namespace: app
`,
      );
      assert.equal((await call(s, 'GET', '/api/v1/namespaces/app/pods/client')).status, 200);
    });
  });
});

describe('@kubernetes/client-node 1.4 against the sandbox over HTTPS', () => {
  test('KubeConfig + CoreV1Api + CustomObjectsApi: list, read, 404 ApiException, server-side apply', async () => {
    const k8s = await import('@kubernetes/client-node');
    await withServer({}, async (s, w) => {
      w.pod('app', 'client', { labels: { app: 'client' } });
      w.pod('app', 'other', { labels: { app: 'other' } });
      const kc = new k8s.KubeConfig();
      kc.loadFromString(s.kubeconfig({ namespace: 'app' }));
      assert.match(kc.getCurrentCluster()?.caData ?? '', /^LS0t/);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const pods = await core.listNamespacedPod({ namespace: 'app', labelSelector: 'app=client' });
      assert.deepEqual(
        pods.items.map((p) => p.metadata?.name),
        ['client'],
      );
      const pod = await core.readNamespacedPod({ namespace: 'app', name: 'client' });
      assert.equal(
        pod.spec?.containers[0]?.ports?.find((p) => p.name === 'linkerd-admin')?.containerPort,
        4191,
      );
      await assert.rejects(core.readNamespacedPod({ namespace: 'app', name: 'nope' }), (e: unknown) => {
        assert.ok(e instanceof k8s.ApiException);
        assert.equal(e.code, 404);
        assert.equal((JSON.parse(e.body as string) as { message: string }).message, 'pods "nope" not found');
        return true;
      });
      const coa = kc.makeApiClient(k8s.CustomObjectsApi);
      const body = {
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic', namespace: 'app' },
        spec: { trafficPolicy: 'Deny' },
      };
      const out = (await coa.patchNamespacedCustomObject(
        {
          group: 'policy.linkerd.io',
          version: 'v1alpha1',
          namespace: 'app',
          plural: 'egressnetworks',
          name: 'all-egress-traffic',
          body,
          fieldManager: 'egressctl',
          force: true,
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
      )) as { metadata: { uid: string }; spec: unknown };
      assert.deepEqual(out.spec, { trafficPolicy: 'Deny' });
      assert.deepEqual(s.requests.at(-1), {
        method: 'PATCH',
        path: '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/all-egress-traffic',
        query: { fieldManager: 'egressctl', force: 'true' },
        contentType: 'application/apply-patch+yaml',
      });
      const objs = k8s.KubernetesObjectApi.makeApiClient(kc);
      const read = await objs.read({
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic', namespace: 'app' },
      });
      assert.equal(read.metadata?.uid, out.metadata.uid);
    });
  });
});
