import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/sandbox/apiserver.js';
import { World } from '../../src/sandbox/world.js';
import { fixture } from './cluster.js';

/** Shared set-up of the test/apiserver-*.test.ts files: raw HTTP(S) calls, port-forward WebSockets. */

export const EGRESS = fixture('proxy-metrics-egress.txt');
export const TOKEN = 'test-token';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

/** One raw HTTP(S) request, no agent (nothing kept alive). */
export function call(
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

export const apply = (s: ApiServer, path: string, obj: unknown, query = 'fieldManager=egressctl') =>
  call(s, 'PATCH', `${path}?${query}`, { body: obj, contentType: 'application/apply-patch+yaml' });

export interface Forwarded {
  /** Every WebSocket message, as received. */
  frames: (Buffer | string)[];
  closeCode?: number;
  /** Set when the upgrade was refused. */
  status?: number;
  body?: string;
  protocol?: string;
}

/** A port-forward WebSocket: sends `request` on the data channel once open, collects every frame. */
export function forward(
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

export const GET_METRICS = 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

/** The data-channel bytes after the port prefix, and the error-channel text. */
export function channels(f: Forwarded, index = 0): { data: Buffer; error: string } {
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
export function httpResponse(raw: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine?.split(' ')[1]), headers, body: raw.subarray(end + 4) };
}

export async function withServer(
  o: ApiServerOptions,
  fn: (s: ApiServer, w: World) => Promise<void>,
): Promise<void> {
  const s = await startApiServer({ token: TOKEN, ...o });
  try {
    await fn(s, new World(s.store));
  } finally {
    await s.close();
  }
}

/**
 * The HTTPS server most API server tests share: token auth, metrics `# ns/pod` + the egress fixture
 * (none for pod `silent`), and pods of every shape in namespace `app`: labelled clients and workers,
 * a Pending pod, an uninjected one, a native sidecar on admin port 9991, an unscheduled pod, workloads
 * owning pods (Deployment mid-rollout, StatefulSet, CronJob), and a `client` in namespace `other`.
 */
export async function startFixtureServer(): Promise<{ s: ApiServer; w: World }> {
  const s = await startApiServer({
    token: TOKEN,
    metrics: (ns, pod) => (pod === 'silent' ? undefined : `# ${ns}/${pod}\n${EGRESS}`),
  });
  const w = new World(s.store);
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
  return { s, w };
}
