import http from 'node:http';
import { duplexPair, type Duplex } from 'node:stream';
import zlib from 'node:zlib';

/** A pod's proxy `/metrics` body, or undefined when the proxy has none to give (answered 404). */
export type MetricsProvider = (namespace: string, pod: string) => string | undefined;

/** How one pod's proxy admin server misbehaves (set through the API server's `faults.pods`). */
export type AdminFault =
  /** Headers with the full Content-Length, then half the body, then the connection closes. */
  | 'close-mid-body'
  /** Half the body, then the connection is torn down without a FIN (a reset, as a crashing proxy). */
  | 'reset-mid-body'
  /** Headers, then no byte of the body ever (a stalled response). */
  | 'stall'
  /** 500 with a text body, as a proxy whose metrics registry failed. */
  | 'http-500'
  /** Content-Encoding: gzip even when the client did not ask for it. */
  | 'gzip';

export interface ProxyAdmin {
  /**
   * A new in-process connection to `namespace/pod`'s admin server: the returned end is the client's
   * side (write a request, read the response), as if dialled through the pod's network namespace.
   */
  connect(namespace: string, pod: string): Duplex;
  /** Destroys every open connection. */
  close(): void;
  /** Destroys every open connection and keeps serving new ones. */
  dropAll(): void;
}

/**
 * The simulated linkerd2-proxy admin servers of every pod: ONE http.Server fed connections through
 * `stream.duplexPair()` instead of a TCP listener per pod, so a 500-pod sandbox costs no file descriptors.
 * Like linkerd2-proxy, `GET /metrics` answers `text/plain` and gzips when Accept-Encoding allows it.
 */
export function createProxyAdmin(o: {
  metrics: () => MetricsProvider | undefined;
  fault: (namespace: string, pod: string) => string | undefined;
}): ProxyAdmin {
  const targets = new WeakMap<object, { ns: string; pod: string }>();
  // A duplexPair end destroyed does not close its peer; a reset must reach the kubelet's side too.
  const peers = new WeakMap<object, Duplex>();
  const open = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    const who = targets.get(req.socket);
    const path = req.url?.split('?')[0];
    const body = who && path === '/metrics' ? o.metrics()?.(who.ns, who.pod) : undefined;
    if (!who || body === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const fault = o.fault(who.ns, who.pod);
    if (fault === 'http-500') {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error: metrics formatting failed\n');
      return;
    }
    const plain = Buffer.from(body, 'utf8');
    const gzip = fault === 'gzip' || /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const payload = gzip ? zlib.gzipSync(plain, { level: 1 }) : plain;
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'text/plain',
      'Content-Length': payload.length,
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    };
    res.writeHead(200, headers);
    if (fault === 'stall') {
      res.flushHeaders();
      return;
    }
    if (fault === 'close-mid-body' || fault === 'reset-mid-body') {
      // Flush half the promised bytes, then cut the connection: the client sees a short body.
      res.write(payload.subarray(0, Math.floor(payload.length / 2)), () =>
        fault === 'close-mid-body'
          ? req.socket.end()
          : [req.socket, peers.get(req.socket)].forEach((s) => s?.destroy()),
      );
      return;
    }
    res.end(payload);
  });
  return {
    connect(ns, pod) {
      const [client, proxy] = duplexPair();
      targets.set(proxy, { ns, pod });
      peers.set(proxy, client);
      open.add(client).add(proxy);
      for (const s of [client, proxy]) s.on('close', () => open.delete(s));
      server.emit('connection', proxy);
      return client;
    },
    close() {
      for (const s of open) s.destroy();
      server.close();
    },
    dropAll() {
      for (const s of open) s.destroy();
    },
  };
}
