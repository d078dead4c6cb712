import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { admitWrite } from './admission-chain.js';
import { denyListAuthorizer, tokenOrCertAuth } from './auth.js';
import { serveCrd, serveDiscovery, type Served } from './discovery.js';
import { noFaults, takeAnswer, type Faults } from './faults.js';
import { createKubeletBridge } from './kubelet.js';
import { renderKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
import { createProxyAdmin, type MetricsProvider } from './proxy-admin.js';
import { json, qualified, statusBody, statusOf } from './responses.js';
import { serveOpenApi } from './openapi.js';
import { createRestHandler } from './rest.js';
import { SERVED_VERSIONS } from './resources.js';
import { listen } from './serving.js';
import { Store, StoreError } from './store.js';
import type { Issued } from './x509.js';

export { matchesSelector } from './selectors.js';
export type { MetricsProvider } from './proxy-admin.js';
export type { CannedAnswer, Faults, PodFault } from './faults.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export { statusBody } from './responses.js';

export interface ApiServerOptions {
  /** HTTPS with a generated CA (default), or plain HTTP. */
  tls?: boolean;
  port?: number;
  /** Bearer token required on every request; unset: any request is allowed. */
  token?: string;
  /** The `/metrics` body of a pod's proxy, or undefined for 404 (changeable later: `server.metricsFor`). */
  metrics?: MetricsProvider;
  /** The user RBAC messages name. */
  user?: string;
  /**
   * The `gateway.networking.k8s.io/bundle-version` the Gateway API CRDs carry when read
   * (GET customresourcedefinitions/NAME); unset: as in `crds/` (v1.1.1).
   */
  gatewayApiBundleVersion?: string;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
}

export interface ApiServer {
  /** `https://127.0.0.1:PORT` or `http://…`. */
  url: string;
  store: Store;
  faults: Faults;
  /** Every request and upgrade, in arrival order. */
  requests: RequestLogEntry[];
  /** The proxies' `/metrics` provider; assign to change what pods serve. */
  metricsFor: MetricsProvider | undefined;
  /**
   * `NS/POD:PORT` → a loopback TCP port that port-forwards to that pod port reach (linkerd-viz's
   * Prometheus, `viz.ts`); pods' proxy admin ports need no entry.
   */
  podPorts: Map<string, number>;
  /**
   * A kubeconfig for this server: token auth, or a client certificate (`clientCert`, e.g. issued by
   * `ca`); CA data for HTTPS, insecure-skip-tls-verify for HTTP (client-node refuses plain http otherwise).
   */
  kubeconfig(o?: KubeconfigOptions): string;
  writeKubeconfig(path: string, o?: KubeconfigOptions): void;
  /** The sandbox CA (HTTPS only), to issue client certificates. */
  ca: Issued | undefined;
  /** Stops listening and destroys every connection, WebSocket and in-process proxy connection. */
  close(): Promise<void>;
  /**
   * Drops every connection and listens again on the same port with the same store and faults, as an
   * API server restarting behind a fixed address: clients must reconnect. Plain HTTP only.
   */
  restart(): Promise<void>;
}

/**
 * Starts an in-process Kubernetes API server on loopback. It composes the parts, each in its file:
 * discovery (`discovery.ts`), the REST verbs on the store (`rest.ts`) behind the admission chain
 * (`admission-chain.ts`), authentication and RBAC (`auth.ts`), `pods/portforward` bridged to the
 * simulated proxy admin servers (`kubelet.ts`, `proxy-admin.ts`) and the HTTP(S) listener (`serving.ts`).
 * This entry logs every request, applies `faults.hangAll` and `faults.answer`, reads bodies and turns errors into Status.
 */
export async function startApiServer(o: ApiServerOptions = {}): Promise<ApiServer> {
  const store = new Store();
  store.admit = admitWrite;
  const faults = noFaults();
  const requests: RequestLogEntry[] = [];
  const user = o.user ?? 'egressctl-test';
  const served: Served = () => SERVED_VERSIONS.filter((r) => !faults.notServed.has(qualified(r)));
  const api = { metricsFor: o.metrics };
  const authenticate = tokenOrCertAuth(o.token);
  const authorize = denyListAuthorizer(faults, user);
  const admin = createProxyAdmin({
    metrics: () => api.metricsFor,
    fault: (ns, pod) => faults.pods.get(`${ns}/${pod}`),
  });
  const rest = createRestHandler({ store, served, authorize });
  const podPorts = new Map<string, number>();
  const kubelet = createKubeletBridge({
    store,
    faults,
    authenticate,
    authorize,
    user,
    admin,
    dial: (ns, pod, port) => {
      const to = podPorts.get(`${ns}/${pod}:${port}`);
      return to === undefined ? undefined : net.connect(to, '127.0.0.1');
    },
  });

  const log = (req: http.IncomingMessage): URL => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
    });
    return url;
  };

  const canned = (a: {
    status: 429 | 500 | 503;
    retryAfterSeconds?: number;
  }): { head: string; body: string } => {
    const reason =
      a.status === 429 ? 'TooManyRequests' : a.status === 503 ? 'ServiceUnavailable' : 'InternalError';
    const body = JSON.stringify(
      statusBody(
        a.status,
        reason,
        a.status === 429
          ? 'Too many requests, please try again later.'
          : `the server is ${a.status === 503 ? 'currently unable to handle the request' : 'failing'}`,
      ),
    );
    const head =
      `HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status]}\r\nContent-Type: application/json\r\n` +
      (a.retryAfterSeconds !== undefined ? `Retry-After: ${a.retryAfterSeconds}\r\n` : '') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    return { head, body };
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = log(req);
    if (faults.hangAll) return;
    const a = takeAnswer(faults, req.method ?? '', url.pathname);
    if (a?.status === 'reset') return void req.socket.destroy();
    if (a) {
      const { body } = canned({ status: a.status, retryAfterSeconds: a.retryAfterSeconds });
      res.writeHead(a.status, {
        'Content-Type': 'application/json',
        ...(a.retryAfterSeconds !== undefined ? { 'Retry-After': String(a.retryAfterSeconds) } : {}),
      });
      res.end(body);
      return;
    }
    if (!authenticate(req)) return json(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      try {
        const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
        if (req.method === 'GET' && serveDiscovery(res, parts, served)) return;
        if (req.method === 'GET' && serveOpenApi(req, res, parts, served)) return;
        const crds = { served, authorize, bundleVersion: o.gatewayApiBundleVersion };
        if (req.method === 'GET' && serveCrd(res, parts, crds)) return;
        const raw = Buffer.concat(chunks);
        rest(req, res, url, raw.toString('utf8'), raw);
      } catch (e) {
        if (e instanceof StoreError) json(res, e.code, statusOf(e));
        else
          json(
            res,
            500,
            statusBody(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`),
          );
      }
    });
  };

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = log(req);
    if (faults.hangAll) return;
    const a = takeAnswer(faults, req.method ?? '', url.pathname);
    if (a?.status === 'reset') return void socket.destroy();
    if (a) {
      const c = canned({ status: a.status, retryAfterSeconds: a.retryAfterSeconds });
      socket.end(`${c.head}Connection: close\r\n\r\n${c.body}`);
      return;
    }
    kubelet.onUpgrade(req, url, socket, head);
  };

  let listener = await listen({ tls: o.tls ?? true, port: o.port ?? 0 }, onRequest, onUpgrade);
  const port = Number(new URL(listener.url).port);
  const kubeconfig = (k?: KubeconfigOptions): string =>
    renderKubeconfig(
      { url: listener.url, caPem: listener.ca?.certPem, token: o.token ?? 'sandbox-token' },
      k,
    );

  let closing: Promise<void> | undefined;
  return {
    url: listener.url,
    store,
    faults,
    requests,
    podPorts,
    get metricsFor() {
      return api.metricsFor;
    },
    set metricsFor(f: MetricsProvider | undefined) {
      api.metricsFor = f;
    },
    kubeconfig,
    ca: listener.ca,
    writeKubeconfig: (path, k) => fs.writeFileSync(path, kubeconfig(k), { mode: 0o600 }),
    close: () =>
      (closing ??= (async () => {
        kubelet.close();
        admin.close();
        await listener.close();
      })()),
    restart: async () => {
      // A TLS listener would come back with a new CA, which no client's kubeconfig trusts.
      if (o.tls ?? true) throw new Error('restart() is for plain HTTP API servers');
      kubelet.dropAll();
      admin.dropAll();
      // close() frees the port at once (connections are destroyed, not drained), so the new listener
      // binds it while the old one finishes: refused connections last no longer than a real restart's.
      const closing = listener.close();
      listener = await listen({ tls: false, port }, onRequest, onUpgrade);
      await closing;
    },
  };
}
