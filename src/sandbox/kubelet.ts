import http from 'node:http';
import { PassThrough, type Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { proxyAdminPort } from './admin-ports.js';
import type { Authenticate, Authorize } from './auth.js';
import type { Faults, PodFault } from './faults.js';
import type { ProxyAdmin } from './proxy-admin.js';
import { serveSpdyPortForward, SPDY_TUNNEL_PROTOCOL, type Dial } from './spdy.js';
import { statusBody, statusOf } from './responses.js';
import { SERVED, type ServedResource } from './resources.js';
import { StoreError, type Store, type StoredObject } from './store.js';

const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];
const PODS = SERVED.find((r) => r.kind === 'Pod' && r.group === '') as ServedResource;

/** Takes over an HTTP upgrade (`server.on('upgrade')`) once the entry has logged it. */
export type UpgradeHandler = (req: http.IncomingMessage, url: URL, socket: Duplex, head: Buffer) => void;

export interface KubeletBridge {
  onUpgrade: UpgradeHandler;
  /** Terminates every port-forward WebSocket. */
  close(): void;
  /** Terminates every port-forward WebSocket and keeps accepting new ones (an API server restart). */
  dropAll(): void;
}

/**
 * `pods/portforward` as the API server proxies it to the kubelet: the WebSocket (v4.channel.k8s.io or
 * its base64 variant) with the kubelet's port prefixes, error-channel refusals and close codes, bridged
 * in-process to the pod's simulated proxy admin server on the port the pod's proxy listens on.
 */
export function createKubeletBridge(o: {
  store: Store;
  faults: Faults;
  authenticate: Authenticate;
  authorize: Authorize;
  /** The user RBAC refusals name. */
  user: string;
  admin: ProxyAdmin;
  /** Other listeners inside pods (linkerd-viz's Prometheus on 9090): a connection, or undefined. */
  dial?: (namespace: string, pod: string, port: number) => Duplex | undefined;
}): KubeletBridge {
  const { store, faults } = o;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) =>
      [...offered].find((p) => PORT_FORWARD_PROTOCOLS.includes(p) || p === SPDY_TUNNEL_PROTOCOL) ?? false,
  });

  const onUpgrade: UpgradeHandler = (req, url, socket, head) => {
    if (faults.hangUpgrades) return;
    const refuse = (code: number, body: unknown, text = false): void => {
      const payload = text ? String(body) : JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: ${text ? 'text/plain; charset=utf-8' : 'application/json'}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
      );
    };
    const refuseWith = (e: StoreError) => refuse(e.code, statusOf(e));
    if (!o.authenticate(req)) return refuse(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    if (!m) return refuse(404, '404 page not found\n', true);
    const [ns, podName] = [decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)];
    const fault = faults.pods.get(`${ns}/${podName}`);
    // A WebSocket GET needs get and (since 1.35) create on pods/portforward.
    const no =
      o.authorize(PODS, 'get', 'pods/portforward', ns, podName) ??
      o.authorize(PODS, 'create', 'pods/portforward', ns, podName) ??
      (fault === 'forbid-portforward'
        ? new StoreError(
            403,
            'Forbidden',
            `pods "${podName}" is forbidden: User "${o.user}" cannot get resource "pods/portforward" in API group "" in the namespace "${ns}"`,
            { name: podName, group: '', kind: 'pods' },
          )
        : undefined);
    if (no) return refuseWith(no);
    const pod = store.get(PODS, ns, podName);
    if (!pod) return refuseWith(store.notFound(PODS, podName));
    if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName)
      return refuse(400, statusBody(400, 'BadRequest', `pod ${podName} does not have a host assigned`));
    // kubectl names no ports in the URL: it speaks SPDY, tunnelled in a WebSocket or after an upgrade.
    const spdy = spdyForm(req);
    if (spdy) {
      if (fault === 'not-running')
        return refuse(500, `failed to find sandboxID for pod "${podName}_${ns}(${pod.metadata.uid})"`, true);
      const dial = dialer(pod, fault);
      if (spdy === 'upgrade') {
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n',
        );
        if (head.length) socket.unshift(head);
        return serveSpdyPortForward(
          {
            write: (b) => socket.write(b),
            onData: (f) => socket.on('data', f),
            onClose: (f) => socket.on('close', f),
            close: () => socket.destroy(),
          },
          dial,
        );
      }
      return wss.handleUpgrade(req, socket, head, (ws) =>
        serveSpdyPortForward(
          {
            write: (b) => {
              if (ws.readyState === ws.OPEN) ws.send(b, { binary: true });
            },
            onData: (f) => ws.on('message', (m: Buffer) => f(Buffer.from(m))),
            onClose: (f) => ws.on('close', f),
            close: () => ws.close(1000),
          },
          dial,
        ),
      );
    }
    const ports = url.searchParams
      .getAll('ports')
      .flatMap((p) => p.split(','))
      .filter(Boolean)
      .map(Number);
    if (ports.length === 0) return refuse(400, 'query parameter "port" is required', true);
    if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
      return refuse(400, `invalid port: ${url.searchParams.getAll('ports').join(',')}`, true);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (offered.length && !offered.some((p) => PORT_FORWARD_PROTOCOLS.includes(p))) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    if (fault === 'not-running') {
      return refuse(500, `failed to find sandboxID for pod "${podName}_${ns}(${pod.metadata.uid})"`, true);
    }
    wss.handleUpgrade(req, socket, head, (ws) => portForward(ws, pod, ports, fault));
  };

  /** The pod's port for a SPDY port-forward request, or the kubelet's error text (the same rules as below). */
  const dialer =
    (pod: StoredObject, fault: PodFault | undefined): Dial =>
    (port) => {
      if (fault === 'hang') return new PassThrough();
      if (fault === 'refuse' || port !== proxyAdminPort(pod)) return connectionRefused(pod, port);
      return o.admin.connect(pod.metadata.namespace ?? '', pod.metadata.name);
    };

  const portForward = (
    ws: WebSocket,
    pod: StoredObject,
    ports: number[],
    fault: PodFault | undefined,
  ): void => {
    const b64 = ws.protocol === 'v4.base64.channel.k8s.io';
    const frame = (ch: number, b: Buffer): Buffer | string =>
      b64 ? String.fromCharCode(48 + ch) + b.toString('base64') : Buffer.concat([Buffer.from([ch]), b]);
    const send = (ch: number, b: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(frame(ch, b));
    };
    const ns = pod.metadata.namespace ?? '';
    const listening = proxyAdminPort(pod);
    let open = ports.length;
    const done = (): void => {
      if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
    };
    const conns: (Duplex | undefined)[] = ports.map((port, i) => {
      // The kubelet first writes the port, little-endian, on the data and the error channel.
      const p = Buffer.alloc(2);
      p.writeUInt16LE(port);
      send(2 * i, p);
      send(2 * i + 1, p);
      if (fault === 'hang') return undefined;
      const other = port !== listening ? o.dial?.(ns, pod.metadata.name, port) : undefined;
      if (other) {
        other.on('data', (d: Buffer) => send(2 * i, d));
        other.on('end', () => {
          other.destroy();
          done();
        });
        other.on('error', () => {
          send(2 * i + 1, Buffer.from(connectionRefused(pod, port)));
          done();
        });
        return other;
      }
      if (fault === 'refuse' || port !== listening) {
        send(2 * i + 1, Buffer.from(connectionRefused(pod, port)));
        setImmediate(done);
        return undefined;
      }
      const conn = o.admin.connect(ns, pod.metadata.name);
      let ended = false;
      conn.on('data', (d: Buffer) => send(2 * i, d));
      conn.on('end', () => {
        ended = true;
        conn.destroy();
        done();
      });
      // Closed without an end: the proxy reset the connection. The kubelet reports the read error on
      // the error channel, then closes the stream.
      conn.on('close', () => {
        if (ended) return;
        ended = true;
        send(2 * i + 1, Buffer.from(connectionReset(pod, port)));
        done();
      });
      conn.on('error', () => undefined);
      return conn;
    });
    ws.on('message', (m: Buffer | string, isBinary: boolean) => {
      const buf = typeof m === 'string' || !isBinary ? Buffer.from(m.toString()) : m;
      const ch = b64 ? (buf[0] ?? 48) - 48 : buf[0];
      const payload = b64 ? Buffer.from(buf.subarray(1).toString(), 'base64') : buf.subarray(1);
      // Writes to error channels, and empty messages, are ignored, as the kubelet does.
      if (ch !== undefined && ch % 2 === 0 && payload.length) conns[ch / 2]?.write(payload);
    });
    const teardown = () => conns.forEach((c) => c?.destroy());
    ws.on('close', teardown);
    ws.on('error', teardown);
  };

  return {
    onUpgrade,
    close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
    dropAll() {
      for (const c of wss.clients) c.terminate();
    },
  };
}

/** Which SPDY form a port-forward upgrade asks for, if any. */
function spdyForm(req: http.IncomingMessage): 'tunnel' | 'upgrade' | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  if (offered.includes(SPDY_TUNNEL_PROTOCOL)) return 'tunnel';
  if (String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1') return 'upgrade';
  return undefined;
}

/** The kubelet's error-channel text when nothing listens on `port` inside the pod. */
function connectionRefused(pod: StoredObject, port: number): string {
  const netns = `cni-${pod.metadata.uid.slice(0, 8)}-${pod.metadata.uid.slice(9, 13)}`;
  return `error forwarding port ${port} to pod ${sandboxId(pod)}, uid : failed to execute portforward in network namespace "/var/run/netns/${netns}": failed to connect to localhost:${port} inside namespace "${sandboxId(pod)}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused `;
}

/** The kubelet's error-channel text when the connection inside the pod was reset mid-stream. */
function connectionReset(pod: StoredObject, port: number): string {
  return `error forwarding port ${port} to pod ${sandboxId(pod)}, uid : read tcp4 127.0.0.1:51234->127.0.0.1:${port}: read: connection reset by peer`;
}

/** A stable fake CRI sandbox id, as the kubelet's error text names it. */
function sandboxId(pod: StoredObject): string {
  return pod.metadata.uid.replace(/-/g, '').padEnd(64, '0').slice(0, 64);
}
