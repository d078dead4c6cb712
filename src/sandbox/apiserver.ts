import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import { stringify as toYaml } from 'yaml';
import { resourceList, SERVED, type ServedResource } from './resources.js';
import { Store, StoreError, type StoredObject } from './store.js';
import { generateServingCerts, type Issued } from './x509.js';

/** Per-pod misbehaviour, to test that egressctl reports each failure precisely. */
export type PodFault =
  /** 403 Forbidden from RBAC on pods/portforward. */
  | 'forbid-portforward'
  /** The kubelet reports "connection refused" on the error channel. */
  | 'refuse'
  /** The proxy sends headers and half the body, then closes. */
  | 'close-mid-body'
  /** The WebSocket opens, then nothing ever arrives. */
  | 'hang'
  /** The proxy answers 500. */
  | 'http-500';

export interface Faults {
  /** Per `namespace/pod`. */
  pods: Map<string, PodFault>;
  /** Denied (verb, resource, namespace?) triples, answered 403 like RBAC. resource may be `pods/portforward`. */
  deny: { verb: string; resource: string; namespace?: string }[];
  /** Kinds (by plural.group) the server does not serve: "CRD missing". */
  notServed: Set<string>;
  /** Accept TCP and never answer the HTTP request (handshake timeouts). */
  hangAll: boolean;
  /** Answer REST requests but never complete a WebSocket upgrade (port-forward handshake timeouts). */
  hangUpgrades: boolean;
}

export interface ApiServerOptions {
  /** HTTPS with a generated CA (default), or plain HTTP. */
  tls?: boolean;
  port?: number;
  /** Bearer token required on every request; unset: any request is allowed. */
  token?: string;
  /** The `/metrics` body of a pod's proxy, or undefined for 404. */
  metrics?: (namespace: string, pod: string) => string | undefined;
  /** The user RBAC messages name. */
  user?: string;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
}

export interface KubeconfigOptions {
  namespace?: string;
  token?: string;
  context?: string;
  /** Authenticate with this client certificate instead of a token. */
  clientCert?: { certPem: string; keyPem: string };
}

export interface ApiServer {
  url: string;
  store: Store;
  faults: Faults;
  requests: RequestLogEntry[];
  /** A kubeconfig for this server (token auth; CA data for HTTPS, insecure-skip-tls-verify for HTTP). */
  /**
   * A kubeconfig for this server: token auth, or a client certificate (`client`: issued by the sandbox CA,
   * or any given pair); CA data for HTTPS, insecure-skip-tls-verify for HTTP.
   */
  kubeconfig(o?: KubeconfigOptions): string;
  writeKubeconfig(path: string, o?: KubeconfigOptions): void;
  /** The sandbox CA (HTTPS only), to issue client certificates. */
  ca: Issued | undefined;
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, code: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
};

const status = (code: number, reason: string, message: string, details?: Record<string, unknown>) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

const notFoundText = (res: http.ServerResponse): void => {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('404 page not found\n');
};

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h` and tests labels against it. */
export function matchesSelector(selector: string, labels: Record<string, string> = {}): boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const t = raw.trim();
    if (!t) return true;
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
    if (m) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      const v = labels[m[1] as string];
      return m[2] === 'in' ? v !== undefined && values.includes(v) : v === undefined || !values.includes(v);
    }
    m = /^([^!=]+)(==|=|!=)(.*)$/.exec(t);
    if (m) {
      const v = labels[(m[1] as string).trim()];
      return m[2] === '!=' ? v !== (m[3] as string).trim() : v === (m[3] as string).trim();
    }
    if (t.startsWith('!')) return labels[t.slice(1).trim()] === undefined;
    return labels[t] !== undefined;
  });
}

const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];

/**
 * Starts an in-process Kubernetes API server on loopback: discovery, get/list/create/delete,
 * server-side apply and status for pods, workloads, Services, EgressNetworks and Gateway API routes,
 * real Status bodies, and `pods/portforward` over WebSocket (v4.channel.k8s.io) bridged in-process to
 * simulated Linkerd proxy admin servers.
 */
export async function startApiServer(o: ApiServerOptions = {}): Promise<ApiServer> {
  const tls = o.tls ?? true;
  const certs = tls ? generateServingCerts() : undefined;
  const store = new Store();
  const faults: Faults = {
    pods: new Map(),
    deny: [],
    notServed: new Set(),
    hangAll: false,
    hangUpgrades: false,
  };
  const requests: RequestLogEntry[] = [];
  const user = o.user ?? 'egressctl-test';
  const sockets = new Set<net.Socket | Duplex>();
  const served = (): ServedResource[] =>
    SERVED.filter((r) => !faults.notServed.has(`${r.plural}.${r.group}`));

  // The simulated proxies' admin servers: one http.Server, fed connections in-process.
  const admin = http.createServer((req, res) => {
    const who = adminTargets.get(req.socket);
    if (!who || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const fault = faults.pods.get(`${who.ns}/${who.pod}`);
    if (fault === 'http-500') {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error: metrics formatting failed\n');
      return;
    }
    const body = Buffer.from(o.metrics?.(who.ns, who.pod) ?? '', 'utf8');
    const gzip = /gzip/.test(String(req.headers['accept-encoding'] ?? ''));
    const payload = gzip ? zlib.gzipSync(body, { level: 1 }) : body;
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'text/plain',
      'Content-Length': payload.length,
    };
    if (gzip) headers['Content-Encoding'] = 'gzip';
    if (fault === 'close-mid-body') {
      res.writeHead(200, headers);
      res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => req.socket.end());
      return;
    }
    res.writeHead(200, headers);
    res.end(payload);
  });
  const adminTargets = new WeakMap<object, { ns: string; pod: string }>();

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) =>
      [...offered].find((p) => PORT_FORWARD_PROTOCOLS.includes(p)) ?? false,
  });

  const findServed = (group: string, version: string, plural: string) =>
    served().find((r) => r.group === group && r.version === version && r.plural === plural);

  const authorize = (verb: string, resource: string, ns: string | undefined): string | undefined => {
    const hit = faults.deny.find(
      (d) => d.verb === verb && d.resource === resource && (d.namespace === undefined || d.namespace === ns),
    );
    if (!hit) return undefined;
    return ns ? `in the namespace "${ns}"` : 'at the cluster scope';
  };

  /** A bearer token, or (over HTTPS) a client certificate signed by the sandbox CA. */
  const authenticate = (req: http.IncomingMessage): boolean => {
    if (!o.token || req.headers.authorization === `Bearer ${o.token}`) return true;
    const sock = req.socket as import('node:tls').TLSSocket;
    return sock.encrypted === true && sock.authorized && Boolean(sock.getPeerCertificate()?.subject?.CN);
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
    });
    if (faults.hangAll) return;
    if (!authenticate(req)) return json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      try {
        route(req, res, url, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        if (e instanceof StoreError) json(res, e.code, status(e.code, e.reason, e.message, e.details));
        else json(res, 500, status(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`));
      }
    });
  };

  const route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): void => {
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    // Discovery.
    if (method === 'GET') {
      if (url.pathname === '/api')
        return json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      if (url.pathname === '/api/v1') return json(res, 200, resourceList('', 'v1', served()));
      if (url.pathname === '/apis') {
        const groups = [
          ...new Set(
            served()
              .filter((r) => r.group)
              .map((r) => r.group),
          ),
        ].map((g) => {
          const versions = [
            ...new Set(
              served()
                .filter((r) => r.group === g)
                .map((r) => r.version),
            ),
          ].map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
          return { name: g, versions, preferredVersion: versions[0] };
        });
        return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      }
      if (parts[0] === 'apis' && parts.length === 2) {
        const versions = [
          ...new Set(
            served()
              .filter((r) => r.group === parts[1])
              .map((r) => r.version),
          ),
        ].map((v) => ({ groupVersion: `${parts[1]}/${v}`, version: v }));
        if (!versions.length) return notFoundText(res);
        return json(res, 200, {
          kind: 'APIGroup',
          apiVersion: 'v1',
          name: parts[1],
          versions,
          preferredVersion: versions[0],
        });
      }
      if (parts[0] === 'apis' && parts.length === 3) {
        if (!served().some((r) => r.group === parts[1] && r.version === parts[2])) return notFoundText(res);
        return json(res, 200, resourceList(parts[1] as string, parts[2] as string, served()));
      }
    }
    // Resource paths: /api/v1/... or /apis/g/v/...
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') [group, version, rest] = ['', 'v1', parts.slice(2)];
    else if (parts[0] === 'apis' && parts.length >= 4)
      [group, version, rest] = [parts[1] as string, parts[2] as string, parts.slice(3)];
    else return notFoundText(res);
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub] = rest as [string, string | undefined, string | undefined];
    const r = findServed(group, version, plural ?? '');
    if (!r || rest.length > 3) return notFoundText(res);
    const resourceName = sub ? `${plural}/${sub}` : plural;
    const verb =
      method === 'GET'
        ? name
          ? 'get'
          : 'list'
        : method === 'POST'
          ? 'create'
          : method === 'DELETE'
            ? 'delete'
            : method === 'PATCH'
              ? 'patch'
              : method === 'PUT'
                ? 'update'
                : method.toLowerCase();
    const denied = authorize(verb, resourceName, ns);
    if (denied) {
      const what = name
        ? `${r.plural}${r.group ? `.${r.group}` : ''} "${name}"`
        : `${r.plural}${r.group ? `.${r.group}` : ''}`;
      return json(
        res,
        403,
        status(
          403,
          'Forbidden',
          `${what} is forbidden: User "${user}" cannot ${verb} resource "${resourceName}" in API group "${r.group}" ${denied}`,
          {
            ...(name ? { name } : {}),
            group: r.group,
            kind: plural,
          },
        ),
      );
    }
    if (
      r.namespaced &&
      ns !== undefined &&
      r.kind !== 'Namespace' &&
      (method === 'POST' || method === 'PATCH') &&
      !namespaceExists(ns)
    ) {
      return json(
        res,
        404,
        status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }),
      );
    }
    const query = url.searchParams;
    const dryRun = query.get('dryRun');
    if (dryRun !== null && dryRun !== 'All') {
      return json(
        res,
        422,
        status(422, 'Invalid', `dryRun: Unsupported value: "${dryRun}": supported values: "All"`),
      );
    }
    if (method === 'GET' && !name) {
      let items = store.list(r, ns);
      const sel = query.get('labelSelector');
      if (sel) items = items.filter((i) => matchesSelector(sel, i.metadata.labels));
      const fieldSel = query.get('fieldSelector');
      if (fieldSel?.startsWith('metadata.name='))
        items = items.filter((i) => i.metadata.name === fieldSel.slice('metadata.name='.length));
      return json(res, 200, {
        kind: `${r.kind}List`,
        apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
        metadata: { resourceVersion: String(Date.now()) },
        items: items.map(({ apiVersion: _a, kind: _k, ...i }) => i),
      });
    }
    if (method === 'GET' && name) {
      const obj = store.get(r, ns, name);
      if (!obj) throw store.notFound(r, name);
      return json(res, 200, sub === 'status' ? obj : obj);
    }
    if (method === 'POST' && !name) {
      const obj = parseBody(body, r);
      const created = store.create(r, ns, obj, {
        fieldManager: query.get('fieldManager') ?? undefined,
        dryRun: dryRun === 'All',
      });
      return json(res, 201, created);
    }
    if (method === 'DELETE' && name) {
      const obj = store.delete(r, ns, name, { dryRun: dryRun === 'All' });
      return json(res, 200, obj);
    }
    if ((method === 'PATCH' || method === 'PUT') && name && sub === 'status') {
      const obj = parseBody(body, r);
      return json(res, 200, store.setStatus(r, ns, name, (obj.status ?? {}) as Record<string, unknown>));
    }
    if (method === 'PATCH' && name && !sub) {
      const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
      if (ct !== 'application/apply-patch+yaml') {
        if (ct === 'application/strategic-merge-patch+json' && r.crd) return unsupported(res);
        if (ct !== 'application/merge-patch+json' && ct !== 'application/json-patch+json')
          return unsupported(res);
        return json(
          res,
          415,
          status(
            415,
            'UnsupportedMediaType',
            'the sandbox supports only server-side apply on the main resource',
          ),
        );
      }
      const manager = query.get('fieldManager');
      if (!manager) {
        return json(
          res,
          422,
          status(
            422,
            'Invalid',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
            {
              group: 'meta.k8s.io',
              kind: 'PatchOptions',
              causes: [
                {
                  reason: 'FieldValueRequired',
                  message: 'Required value: is required for apply patch',
                  field: 'fieldManager',
                },
              ],
            },
          ),
        );
      }
      const obj = parseBody(body, r);
      validate(r, obj, name);
      const out = store.apply(r, ns, name, obj, {
        fieldManager: manager,
        force: query.get('force') === 'true',
        dryRun: dryRun === 'All',
      });
      return json(res, out.created ? 201 : 200, out.object);
    }
    return json(
      res,
      405,
      status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`),
    );
  };

  const unsupported = (res: http.ServerResponse) =>
    json(
      res,
      415,
      status(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      ),
    );

  const namespaceExists = (ns: string): boolean => {
    const nsr = SERVED.find((x) => x.kind === 'Namespace') as ServedResource;
    return store.get(nsr, undefined, ns) !== undefined;
  };

  const parseBody = (text: string, r: ServedResource): Record<string, unknown> => {
    try {
      const v = JSON.parse(text) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch (e) {
      throw new StoreError(
        400,
        'BadRequest',
        `the body of the ${r.kind} request is not valid JSON: ${(e as Error).message}`,
      );
    }
  };

  const validate = (r: ServedResource, obj: Record<string, unknown>, name: string): void => {
    const meta = obj.metadata as { name?: string } | undefined;
    if (meta?.name !== undefined && meta.name !== name) {
      throw new StoreError(
        400,
        'BadRequest',
        `the name of the object (${meta.name}) does not match the name on the URL (${name})`,
      );
    }
    const invalid = validateObject(r, obj);
    if (invalid.length) {
      throw new StoreError(
        422,
        'Invalid',
        `${r.kind}.${r.group} "${name}" is invalid: ${invalid.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        {
          name,
          group: r.group,
          kind: r.kind,
          causes: invalid.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
        },
      );
    }
  };

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    sockets.add(socket);
    if (faults.hangAll || faults.hangUpgrades) return;
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: undefined,
    });
    const refuse = (code: number, body: unknown, text = false): void => {
      const payload = text ? String(body) : JSON.stringify(body);
      void socket.end(
        `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: ${text ? 'text/plain' : 'application/json'}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
      );
    };
    if (!authenticate(req)) return refuse(401, status(401, 'Unauthorized', 'Unauthorized'));
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    if (!m) return refuse(404, '404 page not found\n', true);
    const [ns, podName] = [decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)];
    const podType = SERVED.find((x) => x.kind === 'Pod') as ServedResource;
    const fault = faults.pods.get(`${ns}/${podName}`);
    if (
      authorize('get', 'pods/portforward', ns) ||
      authorize('create', 'pods/portforward', ns) ||
      fault === 'forbid-portforward'
    ) {
      return refuse(
        403,
        status(
          403,
          'Forbidden',
          `pods "${podName}" is forbidden: User "${user}" cannot get resource "pods/portforward" in API group "" in the namespace "${ns}"`,
          {
            name: podName,
            kind: 'pods',
          },
        ),
      );
    }
    const pod = store.get(podType, ns, podName);
    if (!pod)
      return refuse(
        404,
        status(404, 'NotFound', `pods "${podName}" not found`, { name: podName, kind: 'pods' }),
      );
    if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName) {
      return refuse(400, status(400, 'BadRequest', `pod ${podName} does not have a host assigned`));
    }
    const ports = url.searchParams
      .getAll('ports')
      .flatMap((p) => p.split(','))
      .filter(Boolean)
      .map(Number);
    if (ports.length === 0) return refuse(400, 'query parameter "port" is required', true);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (offered.length && !offered.some((p) => PORT_FORWARD_PROTOCOLS.includes(p))) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => portForward(ws, pod, ports, fault));
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
    const ns = pod.metadata.namespace ?? '';
    const podName = pod.metadata.name;
    let open = ports.length;
    const conns: (Duplex | undefined)[] = ports.map((port, i) => {
      const p = Buffer.alloc(2);
      p.writeUInt16LE(port);
      ws.send(frame(2 * i, p));
      ws.send(frame(2 * i + 1, p));
      const done = (): void => {
        if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
      };
      if (fault === 'hang') return undefined;
      const hasPort = adminPortsOf(pod).includes(port);
      if (fault === 'refuse' || !hasPort) {
        ws.send(
          frame(
            2 * i + 1,
            Buffer.from(
              `error forwarding port ${port} to pod ${pod.metadata.uid}, uid : failed to execute portforward in network namespace "/var/run/netns/cni-${pod.metadata.uid.slice(0, 8)}": failed to connect to localhost:${port} inside namespace "${pod.metadata.uid}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused `,
            ),
          ),
        );
        setImmediate(done);
        return undefined;
      }
      const [ours, theirs] = duplexPair();
      adminTargets.set(theirs, { ns, pod: podName });
      sockets.add(ours);
      admin.emit('connection', theirs);
      ours.on('data', (d: Buffer) => {
        if (ws.readyState === ws.OPEN) ws.send(frame(2 * i, d));
      });
      ours.on('end', () => {
        ours.destroy();
        done();
      });
      ours.on('close', () => sockets.delete(ours));
      ours.on('error', () => undefined);
      return ours;
    });
    ws.on('message', (m: Buffer | string, isBinary: boolean) => {
      const buf = typeof m === 'string' || !isBinary ? Buffer.from(m.toString()) : m;
      const ch = b64 ? (buf[0] ?? 48) - 48 : buf[0];
      const payload = b64 ? Buffer.from(buf.subarray(1).toString(), 'base64') : buf.subarray(1);
      if (ch !== undefined && ch % 2 === 0 && payload.length) conns[ch / 2]?.write(payload);
    });
    ws.on('close', () => conns.forEach((c) => c?.destroy()));
    ws.on('error', () => conns.forEach((c) => c?.destroy()));
  };

  const server = tls
    ? https.createServer(
        {
          cert: certs?.server.certPem,
          key: certs?.server.keyPem,
          ca: certs?.ca.certPem,
          requestCert: true,
          rejectUnauthorized: false,
        },
        handler,
      )
    : http.createServer(handler);
  server.on('upgrade', onUpgrade);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const kubeconfig = (k: KubeconfigOptions = {}): string =>
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': k.context ?? 'sandbox',
      clusters: [
        {
          name: 'sandbox',
          cluster: tls
            ? {
                server: url,
                'certificate-authority-data': Buffer.from(certs?.ca.certPem ?? '').toString('base64'),
              }
            : { server: url, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [
        {
          name: 'sandbox-user',
          user: k.clientCert
            ? {
                'client-certificate-data': Buffer.from(k.clientCert.certPem).toString('base64'),
                'client-key-data': Buffer.from(k.clientCert.keyPem).toString('base64'),
              }
            : { token: k.token ?? o.token ?? 'sandbox-token' },
        },
      ],
      contexts: [
        {
          name: k.context ?? 'sandbox',
          context: { cluster: 'sandbox', user: 'sandbox-user', namespace: k.namespace ?? 'default' },
        },
      ],
    });

  return {
    url,
    store,
    faults,
    requests,
    kubeconfig,
    ca: certs?.ca,
    writeKubeconfig: (path, k) => fs.writeFileSync(path, kubeconfig(k), { mode: 0o600 }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        for (const s of sockets) s.destroy();
        admin.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Container ports named `*linkerd-admin`, init containers included. */
function adminPortsOf(pod: StoredObject): number[] {
  const spec = (pod.spec ?? {}) as {
    containers?: { ports?: { name?: string; containerPort: number }[] }[];
    initContainers?: { ports?: { name?: string; containerPort: number }[] }[];
  };
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].flatMap((c) =>
    (c.ports ?? []).filter((p) => p.name?.endsWith('linkerd-admin')).map((p) => p.containerPort),
  );
}

/** The admission checks Linkerd's webhook and the CRD schemas make on what egressctl writes. */
export function validateObject(
  r: ServedResource,
  obj: Record<string, unknown>,
): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (r.kind === 'EgressNetwork') {
    if (!spec || spec.trafficPolicy === undefined)
      out.push({ field: 'spec.trafficPolicy', message: 'Required value' });
    else if (spec.trafficPolicy !== 'Allow' && spec.trafficPolicy !== 'Deny') {
      out.push({
        field: 'spec.trafficPolicy',
        message: `Unsupported value: ${JSON.stringify(spec.trafficPolicy)}: supported values: "Allow", "Deny"`,
      });
    }
    if (Array.isArray(spec?.networks) && spec.networks.length === 0)
      out.push({ field: 'spec.networks', message: 'at least one network must be specified' });
  }
  if (['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute'].includes(r.kind)) {
    const parents = spec?.parentRefs as { kind?: string; port?: number }[] | undefined;
    if (!Array.isArray(parents) || parents.length === 0)
      out.push({ field: 'spec.parentRefs', message: 'Required value' });
    for (const [i, p] of (parents ?? []).entries()) {
      if (p.kind === 'EgressNetwork' && p.port === undefined)
        out.push({
          field: `spec.parentRefs[${i}].port`,
          message: 'cannot target an EgressNetwork without specifying a port',
        });
    }
    const rules = spec?.rules as unknown[] | undefined;
    if ((r.kind === 'TLSRoute' || r.kind === 'TCPRoute') && (!Array.isArray(rules) || rules.length !== 1)) {
      out.push({
        field: 'spec.rules',
        message: `${r.kind === 'TLSRoute' ? 'TlsRoute' : 'TcpRoute'} supports a single rule only`,
      });
    }
  }
  return out;
}
