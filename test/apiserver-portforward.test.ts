import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { startApiServer, type ApiServer } from '../src/sandbox/apiserver.js';
import { World } from '../src/sandbox/world.js';
import {
  call,
  channels,
  EGRESS,
  forward,
  GET_METRICS,
  httpResponse,
  startFixtureServer,
  TOKEN,
} from './helpers/apiserver.js';

describe('the sandbox API server over HTTPS', () => {
  let s: ApiServer;
  before(async () => {
    ({ s } = await startFixtureServer());
  });
  after(() => s.close());

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
});
