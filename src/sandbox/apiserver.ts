import { adminPorts, type Pod } from '../kube/resolve.js';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { LINKERD_WEBHOOK, linkerdAdmission } from './admission.js';
import { jsonPatch, mergePatch } from './patch.js';
import { createProxyAdmin, type AdminFault, type MetricsProvider } from './proxy-admin.js';
import { resourceList, SERVED, type ServedResource } from './resources.js';
import { applyDefaults, crdSchemas, prune, validateSchema, type FieldCause } from './schema.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { Store, StoreError, type StoredObject } from './store.js';
import { generateServingCerts, type Issued } from './x509.js';

export { matchesSelector } from './selectors.js';
export type { MetricsProvider } from './proxy-admin.js';

/** Per-pod misbehaviour, to test that egressctl reports each failure precisely. */
export type PodFault =
  /** 403 Forbidden from RBAC on pods/portforward (JSON Status, before the upgrade). */
  | 'forbid-portforward'
  /** The kubelet finds no running sandbox: 500 text before the upgrade (the pod's phase is separate data). */
  | 'not-running'
  /** The kubelet reports "connection refused" on the error channel, then closes with 1000. */
  | 'refuse'
  /** The WebSocket opens and sends the port frames, then nothing ever arrives. */
  | 'hang'
  /** The proxy answers 500. */
  | AdminFault;

export interface Faults {
  /** Per `namespace/pod`. */
  pods: Map<string, PodFault>;
  /** Denied (verb, resource, namespace?) triples, answered 403 like RBAC. resource may be `pods/portforward`. */
  deny: { verb: string; resource: string; namespace?: string }[];
  /** Kinds (by `plural.group`, e.g. `tlsroutes.gateway.networking.k8s.io`) not installed: "CRD missing". */
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
  /** The `/metrics` body of a pod's proxy, or undefined for 404 (changeable later: `server.metricsFor`). */
  metrics?: MetricsProvider;
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
  /** `https://127.0.0.1:PORT` or `http://…`. */
  url: string;
  store: Store;
  faults: Faults;
  /** Every request and upgrade, in arrival order. */
  requests: RequestLogEntry[];
  /** The proxies' `/metrics` provider; assign to change what pods serve. */
  metricsFor: MetricsProvider | undefined;
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
}

const json = (
  res: http.ServerResponse,
  code: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void => {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

/** A metav1.Status failure body, as apimachinery's `api/errors` builds it. */
export const statusBody = (
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  ...(reason ? { reason } : {}),
  // details.group is omitempty: core kinds have none.
  ...(details ? { details: details.group === '' ? (({ group: _g, ...d }) => d)(details) : details } : {}),
  code,
});

const notFoundText = (res: http.ServerResponse): void => {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end('404 page not found\n');
};

const qualified = (r: ServedResource): string => `${r.plural}${r.group ? `.${r.group}` : ''}`;
const apiVersionOf = (r: ServedResource): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** `Kind.group "name" is invalid: cause` or `…: [cause, cause]`, with causes, as a 422 Invalid. */
function invalid(r: ServedResource, name: string, causes: FieldCause[]): StoreError {
  const lines = causes.map((c) => `${c.field}: ${c.message}`);
  return new StoreError(
    422,
    'Invalid',
    `${r.kind}${r.group ? `.${r.group}` : ''} "${name}" is invalid: ${lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`}`,
    { name, group: r.group, kind: r.kind, causes },
  );
}

const badRequest = (message: string) => new StoreError(400, 'BadRequest', message);

const UNSUPPORTED_PATCH =
  'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';
const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];

/** Verb of a request, as RBAC names it. */
const verbOf = (method: string, named: boolean): string =>
  ({ GET: named ? 'get' : 'list', POST: 'create', DELETE: 'delete', PATCH: 'patch', PUT: 'update' })[
    method
  ] ?? method.toLowerCase();

/**
 * Starts an in-process Kubernetes API server on loopback: discovery, get/list/create/update/delete,
 * server-side apply, merge and JSON patch, the status subresource, CRD schema pruning, defaulting and
 * validation plus Linkerd's admission webhook, real Status bodies, and `pods/portforward` over WebSocket
 * (v4.channel.k8s.io) bridged in-process to simulated Linkerd proxy admin servers.
 */
export async function startApiServer(o: ApiServerOptions = {}): Promise<ApiServer> {
  const useTls = o.tls ?? true;
  const certs = useTls ? generateServingCerts() : undefined;
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
  const sockets = new Set<Duplex>();
  const served = (): ServedResource[] => SERVED.filter((r) => !faults.notServed.has(qualified(r)));
  const api = { metricsFor: o.metrics };
  const admin = createProxyAdmin({
    metrics: () => api.metricsFor,
    fault: (ns, pod) => faults.pods.get(`${ns}/${pod}`),
  });

  // Admission on every write, as the real chain runs it: defaulting, schema validation, webhooks.
  store.admit = (r, obj) => {
    if (!r.crd) return;
    const schema = crdSchemas().get(`${r.group}/${r.version}/${r.kind}`);
    if (schema) {
      applyDefaults(schema, obj);
      const causes = validateSchema(schema, obj);
      if (causes.length) throw invalid(r, obj.metadata.name, causes);
    }
    const denied = linkerdAdmission(r.group, r.kind, obj);
    if (denied)
      throw new StoreError(400, '', `admission webhook "${LINKERD_WEBHOOK}" denied the request: ${denied}`);
  };

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) =>
      [...offered].find((p) => PORT_FORWARD_PROTOCOLS.includes(p)) ?? false,
  });

  const denied = (verb: string, resource: string, ns: string | undefined): string | undefined => {
    const hit = faults.deny.find(
      (d) => d.verb === verb && d.resource === resource && (d.namespace === undefined || d.namespace === ns),
    );
    if (!hit) return undefined;
    return ns ? `in the namespace "${ns}"` : 'at the cluster scope';
  };

  const forbidden = (
    r: ServedResource,
    verb: string,
    resource: string,
    ns: string | undefined,
    name?: string,
  ) => {
    const scope = denied(verb, resource, ns);
    if (!scope) return undefined;
    const what = name ? `${qualified(r)} "${name}"` : qualified(r);
    return new StoreError(
      403,
      'Forbidden',
      `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${r.group}" ${scope}`,
      { ...(name ? { name } : {}), group: r.group, kind: r.plural },
    );
  };

  /** A bearer token, or (over HTTPS) a client certificate signed by the sandbox CA. */
  const authenticate = (req: http.IncomingMessage): boolean => {
    if (!o.token || req.headers.authorization === `Bearer ${o.token}`) return true;
    const sock = req.socket as tls.TLSSocket;
    return sock.encrypted === true && sock.authorized && Boolean(sock.getPeerCertificate()?.subject?.CN);
  };

  const log = (req: http.IncomingMessage, url: URL): void => {
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
    });
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    log(req, url);
    if (faults.hangAll) return;
    if (!authenticate(req)) return json(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      try {
        route(req, res, url, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        if (e instanceof StoreError) json(res, e.code, statusBody(e.code, e.reason, e.message, e.details));
        else
          json(
            res,
            500,
            statusBody(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`),
          );
      }
    });
  };

  const discovery = (res: http.ServerResponse, parts: string[]): boolean => {
    const path = `/${parts.join('/')}`;
    if (path === '/version') {
      json(res, 200, {
        major: '1',
        minor: '34',
        gitVersion: 'v1.34.2-egressctl-sandbox',
        platform: 'linux/amd64',
      });
      return true;
    }
    if (path === '/api') {
      json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      return true;
    }
    if (path === '/api/v1') {
      json(res, 200, resourceList('', 'v1', served()));
      return true;
    }
    const group = (g: string) => {
      const versions = [
        ...new Set(
          served()
            .filter((r) => r.group === g)
            .map((r) => r.version),
        ),
      ].map((v) => ({
        groupVersion: `${g}/${v}`,
        version: v,
      }));
      return versions.length ? { name: g, versions, preferredVersion: versions[0] } : undefined;
    };
    if (path === '/apis') {
      const groups = [...new Set(served().map((r) => r.group))].filter(Boolean).map((g) => group(g));
      json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      return true;
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = group(parts[1] as string);
      if (g) json(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g });
      else notFoundText(res);
      return true;
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      if (served().some((r) => r.group === parts[1] && r.version === parts[2]))
        json(res, 200, resourceList(parts[1] as string, parts[2] as string, served()));
      else notFoundText(res);
      return true;
    }
    return false;
  };

  const route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): void => {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    if (method === 'GET' && discovery(res, parts)) return;
    // Resource paths: /api/v1/... or /apis/g/v/...
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') [group, version, rest] = ['', 'v1', parts.slice(2)];
    else if (parts[0] === 'apis' && parts.length >= 4)
      [group, version, rest] = [parts[1] as string, parts[2] as string, parts.slice(3)];
    else return notFoundText(res);
    let ns: string | undefined;
    // `namespaces/x` alone is the Namespace object itself; longer paths are namespaced resources.
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub] = rest as [string, string | undefined, string | undefined];
    const r = served().find((x) => x.group === group && x.version === version && x.plural === plural);
    if (!r || rest.length > 3 || (sub !== undefined && !(sub === 'status' && r.status)))
      return notFoundText(res);
    if (!r.namespaced && ns !== undefined) return notFoundText(res);
    const verb = verbOf(method, name !== undefined);
    const no = forbidden(r, verb, sub ? `${plural}/${sub}` : plural, ns, name);
    if (no) throw no;
    const query = url.searchParams;
    const dryRunParam = query.get('dryRun');
    if (dryRunParam !== null && dryRunParam !== 'All')
      throw new StoreError(
        422,
        'Invalid',
        `dryRun: Unsupported value: "${dryRunParam}": supported values: "All"`,
      );
    const dryRun = dryRunParam === 'All';
    const fieldValidation = query.get('fieldValidation') ?? 'Warn';
    if (!['Ignore', 'Warn', 'Strict'].includes(fieldValidation)) {
      throw badRequest(
        `fieldValidation: Unsupported value: "${fieldValidation}": supported values: "Ignore", "Warn", "Strict"`,
      );
    }
    const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const isApply = method === 'PATCH' && ct === 'application/apply-patch+yaml';
    if (query.has('force') && !isApply) {
      throw new StoreError(
        422,
        'Invalid',
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
        {
          group: 'meta.k8s.io',
          kind: 'PatchOptions',
          causes: [
            {
              reason: 'FieldValueForbidden',
              message: 'Forbidden: may not be specified for non-apply patch',
              field: 'force',
            },
          ],
        },
      );
    }
    if (
      r.namespaced &&
      ns !== undefined &&
      (method === 'POST' || method === 'PATCH' || method === 'PUT') &&
      !store.get(type('Namespace'), undefined, ns)
    ) {
      throw new StoreError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    }
    const manager =
      query.get('fieldManager') ?? String(req.headers['user-agent'] ?? 'unknown').split('/')[0] ?? 'unknown';
    const warnings: string[] = [];
    /** The request body as an object, pruned to the CRD schema (strict validation refuses instead). */
    const object = (opts: { apply?: boolean } = {}): Record<string, unknown> => {
      const obj = parseBody(body, r, opts.apply === true);
      const schema = r.crd ? crdSchemas().get(`${r.group}/${r.version}/${r.kind}`) : undefined;
      const unknown = schema && fieldValidation !== 'Ignore' ? prune(schema, obj) : [];
      if (schema && fieldValidation === 'Ignore') prune(schema, obj);
      if (unknown.length && fieldValidation === 'Strict') {
        throw badRequest(
          opts.apply
            ? `failed to create typed patch object (${ns ? `${ns}/` : ''}${name}; ${apiVersionOf(r)}, Kind=${r.kind}): ${unknown[0]}: field not declared in schema`
            : `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u.slice(1)}"`).join(', ')}`,
        );
      }
      warnings.push(...unknown.map((u) => `unknown field "${u.slice(1)}"`));
      checkIdentity(r, obj, name);
      return obj;
    };
    const reply = (code: number, out: unknown) =>
      json(
        res,
        code,
        out,
        warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {},
      );

    if (method === 'GET' && name === undefined) {
      let items = store.list(r, ns);
      try {
        const labels = parseLabelSelector(query.get('labelSelector') ?? '');
        const fields = parseFieldSelector(query.get('fieldSelector') ?? '', r.kind);
        items = items.filter((i) => labels(i.metadata.labels) && fields(i));
      } catch (e) {
        throw badRequest((e as Error).message);
      }
      return json(res, 200, {
        kind: `${r.kind}List`,
        apiVersion: apiVersionOf(r),
        metadata: { resourceVersion: store.resourceVersion },
        items: items.map(({ apiVersion: _a, kind: _k, ...i }) => i),
      });
    }
    if (name === undefined) {
      if (method !== 'POST') return methodNotAllowed(res);
      const obj = object();
      const created = store.create(r, ns, obj, { fieldManager: manager, dryRun });
      return reply(201, created);
    }
    const live = store.get(r, ns, name);
    if (method === 'GET') {
      if (!live) throw store.notFound(r, name);
      return json(res, 200, live);
    }
    if (method === 'DELETE') return json(res, 200, store.delete(r, ns, name, { dryRun }));
    if (method !== 'PATCH' && method !== 'PUT') return methodNotAllowed(res);
    if (isApply && !query.get('fieldManager')) {
      throw new StoreError(
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
      );
    }
    if (method === 'PATCH' && !isApply && !patchable(ct, r)) {
      throw new StoreError(415, 'UnsupportedMediaType', UNSUPPORTED_PATCH);
    }
    // Creating through apply also needs `create`.
    if (isApply && !live && sub === undefined) {
      const noCreate = forbidden(r, 'create', plural, ns, name);
      if (noCreate) throw noCreate;
    }
    if (!live && !(isApply && sub === undefined)) throw store.notFound(r, name);
    if (sub === 'status') {
      const current = live as StoredObject;
      const base = { status: current.status ?? {} };
      const next =
        method === 'PUT'
          ? (object() as { status?: Record<string, unknown> })
          : (patched(ct, base, isApply ? parseBody(body, r, true) : parseJson(body, r)) as {
              status?: Record<string, unknown>;
            });
      return reply(200, store.setStatus(r, ns, name, next.status ?? {}, { fieldManager: manager, dryRun }));
    }
    if (isApply) {
      const obj = object({ apply: true });
      const out = store.apply(r, ns, name, obj, {
        fieldManager: manager,
        force: query.get('force') === 'true',
        dryRun,
      });
      return reply(out.created ? 201 : 200, out.object);
    }
    const current = live as StoredObject;
    if (method === 'PUT') {
      const obj = object();
      const rv = (obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      return reply(
        200,
        store.update(r, ns, name, obj, {
          fieldManager: manager,
          dryRun,
          ...(rv ? { resourceVersion: rv } : {}),
        }),
      );
    }
    const { metadata: _m, ...shown } = current;
    const next = patched(ct, { ...shown, metadata: publicMeta(current) }, parseJson(body, r)) as Record<
      string,
      unknown
    >;
    checkIdentity(r, next, name);
    return reply(200, store.update(r, ns, name, next, { fieldManager: manager, dryRun }));
  };

  const methodNotAllowed = (res: http.ServerResponse) =>
    json(
      res,
      405,
      statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
    );

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://x');
    log(req, url);
    if (faults.hangAll || faults.hangUpgrades) return;
    const refuse = (code: number, body: unknown, text = false): void => {
      const payload = text ? String(body) : JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: ${text ? 'text/plain; charset=utf-8' : 'application/json'}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
      );
    };
    const refuseWith = (e: StoreError) => refuse(e.code, statusBody(e.code, e.reason, e.message, e.details));
    if (!authenticate(req)) return refuse(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    if (!m) return refuse(404, '404 page not found\n', true);
    const [ns, podName] = [decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)];
    const pods = type('Pod');
    const fault = faults.pods.get(`${ns}/${podName}`);
    // A WebSocket GET needs get and (since 1.35) create on pods/portforward.
    const no =
      forbidden(pods, 'get', 'pods/portforward', ns, podName) ??
      forbidden(pods, 'create', 'pods/portforward', ns, podName) ??
      (fault === 'forbid-portforward'
        ? new StoreError(
            403,
            'Forbidden',
            `pods "${podName}" is forbidden: User "${user}" cannot get resource "pods/portforward" in API group "" in the namespace "${ns}"`,
            { name: podName, group: '', kind: 'pods' },
          )
        : undefined);
    if (no) return refuseWith(no);
    const pod = store.get(pods, ns, podName);
    if (!pod) return refuseWith(store.notFound(pods, podName));
    if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName)
      return refuse(400, statusBody(400, 'BadRequest', `pod ${podName} does not have a host assigned`));
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
      if (fault === 'refuse' || !adminPorts(pod as unknown as Pod).some((a) => a.port === port)) {
        const netns = `cni-${pod.metadata.uid.slice(0, 8)}-${pod.metadata.uid.slice(9, 13)}`;
        send(
          2 * i + 1,
          Buffer.from(
            `error forwarding port ${port} to pod ${sandboxId(pod)}, uid : failed to execute portforward in network namespace "/var/run/netns/${netns}": failed to connect to localhost:${port} inside namespace "${sandboxId(pod)}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused `,
          ),
        );
        setImmediate(done);
        return undefined;
      }
      const conn = admin.connect(ns, pod.metadata.name);
      conn.on('data', (d: Buffer) => send(2 * i, d));
      conn.on('end', () => {
        conn.destroy();
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

  const server = useTls
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
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  server.on('connection', track);
  server.on('secureConnection', track);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const url = `${useTls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const kubeconfig = (k: KubeconfigOptions = {}): string =>
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': k.context ?? 'sandbox',
      clusters: [
        {
          name: 'sandbox',
          cluster: useTls
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

  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    faults,
    requests,
    get metricsFor() {
      return api.metricsFor;
    },
    set metricsFor(f: MetricsProvider | undefined) {
      api.metricsFor = f;
    },
    kubeconfig,
    ca: certs?.ca,
    writeKubeconfig: (path, k) => fs.writeFileSync(path, kubeconfig(k), { mode: 0o600 }),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        for (const s of sockets) s.destroy();
        admin.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

const type = (kind: string): ServedResource =>
  SERVED.find((r) => r.kind === kind && r.group === '') as ServedResource;

/** The patch types a kind takes besides apply: strategic merge only on built-in kinds (as a merge patch here). */
function patchable(ct: string, r: ServedResource): boolean {
  if (ct === 'application/merge-patch+json' || ct === 'application/json-patch+json') return true;
  return ct === 'application/strategic-merge-patch+json' && !r.crd;
}

function patched(ct: string, base: unknown, patch: unknown): unknown {
  try {
    return ct === 'application/json-patch+json' ? jsonPatch(base, patch) : mergePatch(base, patch);
  } catch (e) {
    throw new StoreError(422, 'Invalid', (e as Error).message);
  }
}

/** metadata without the fields the store renders (managedFields), for patching. */
function publicMeta(o: StoredObject): Record<string, unknown> {
  const { managedFields: _mf, ...m } = o.metadata;
  return m;
}

function parseJson(text: string, r: ServedResource): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest(`the body of the ${r.kind} request is not valid JSON: ${(e as Error).message}`);
  }
}

/** JSON, or for apply YAML (JSON is YAML); must be one object. */
function parseBody(text: string, r: ServedResource, yaml: boolean): Record<string, unknown> {
  let v: unknown;
  try {
    v = yaml ? (parseYaml(text) as unknown) : JSON.parse(text);
  } catch (e) {
    throw badRequest(
      `error decoding ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0] ?? ''}`,
    );
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw badRequest(`the body of the ${r.kind} request must be a single object`);
  }
  return v as Record<string, unknown>;
}

/** The body's name must match the URL's; its apiVersion/kind, when set, the endpoint's. */
function checkIdentity(r: ServedResource, obj: Record<string, unknown>, name: string | undefined): void {
  const meta = obj.metadata as { name?: string } | undefined;
  if (name !== undefined && meta?.name !== undefined && meta.name !== name) {
    throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  }
  if (
    (obj.kind !== undefined && obj.kind !== r.kind) ||
    (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(r))
  ) {
    throw badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`,
    );
  }
}

/** A stable fake CRI sandbox id, as the kubelet's error text names it. */
function sandboxId(pod: StoredObject): string {
  return pod.metadata.uid.replace(/-/g, '').padEnd(64, '0').slice(0, 64);
}
