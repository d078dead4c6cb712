import http from 'node:http';
import https from 'node:https';
import { ClusterError } from '../errors.js';
import type { KubeConnection } from './config.js';

/** A Kubernetes `Status` body, as the API server sends it with every error. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/** An error response from the API server, with its Status when it sent one. */
export class ApiError extends ClusterError {
  readonly code: number;
  readonly status: KubeStatus | undefined;
  readonly reason: string;
  constructor(code: number, status: KubeStatus | undefined, text: string, what: string) {
    super(describeApiError(code, status, text, what));
    this.code = code;
    this.status = status;
    this.reason = status?.reason ?? '';
  }
}

/** kubectl-style one line for an API error; `what` names the request, e.g. `get pod egress-test/client`. */
export function describeApiError(
  code: number,
  status: KubeStatus | undefined,
  text: string,
  what: string,
): string {
  const msg = status?.message ?? (text.trim().split('\n')[0] || `HTTP ${code}`);
  switch (code) {
    case 401:
      return `the API server rejected our credentials (401 Unauthorized) on ${what}: check the user of your kubeconfig context (kubectl auth whoami)`;
    case 403:
      return `${msg} (403 Forbidden: ask a cluster admin for RBAC permission)`;
    case 422: {
      const causes =
        status?.details?.causes?.map((c) =>
          c.field ? `${c.field}: ${c.message ?? c.reason ?? ''}` : (c.message ?? ''),
        ) ?? [];
      return causes.length ? `${msg.split(':')[0]}: ${causes.join('; ')}` : msg;
    }
    default:
      return status?.reason ? `${msg} (${code} ${status.reason})` : `${what} failed: ${msg} (HTTP ${code})`;
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  contentType?: string;
  /** Names the request in error messages, e.g. `list pods in egress-test`. */
  what?: string;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface Response<T> {
  statusCode: number;
  body: T;
}

/**
 * A small REST client for the Kubernetes API on node:http(s): one keep-alive agent per command, the
 * kubeconfig's TLS and auth, raw JSON in and out (no model classes: timestamps and key order stay as the
 * server sent them), and `Status` bodies turned into one-line errors.
 */
export class KubeClient {
  readonly conn: KubeConnection;
  private readonly agent: http.Agent;
  private readonly requestTimeoutMs: number;

  constructor(conn: KubeConnection, opts: { requestTimeoutMs?: number; maxSockets?: number } = {}) {
    this.conn = conn;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 0;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 32 };
    this.agent =
      conn.server.protocol === 'https:'
        ? new https.Agent({ ...agentOpts, ...this.tlsOptions() })
        : new http.Agent(agentOpts);
  }

  get namespace(): string {
    return this.conn.namespace;
  }

  /** TLS options for https and for WebSocket clients. */
  tlsOptions(): {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    rejectUnauthorized: boolean;
    servername?: string;
  } {
    const c = this.conn;
    return {
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      rejectUnauthorized: !c.insecure,
      ...(c.servername ? { servername: c.servername } : {}),
    };
  }

  /** The absolute URL for an API path. */
  url(path: string, query?: RequestOptions['query']): URL {
    const base = this.conn.server.toString().replace(/\/$/, '');
    const u = new URL(base + path);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
    const url = this.url(path, opts.query);
    const what = opts.what ?? `${method} ${path}`;
    const headers: Record<string, string | string[]> = {
      Accept: 'application/json',
      ...(await this.conn.headers()),
    };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<Response<T>>((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, signal: opts.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', (e) => reject(this.networkError(e, what)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          if (code >= 200 && code < 300) {
            if (json === undefined && text) {
              reject(
                new ClusterError(
                  `${what}: the API server answered with something that is not JSON (is ${this.conn.server.host} a Kubernetes API server?)`,
                ),
              );
            } else resolve({ statusCode: code, body: json as T });
          } else {
            const status =
              json && typeof json === 'object' && (json as KubeStatus).kind === 'Status'
                ? (json as KubeStatus)
                : undefined;
            reject(new ApiError(code, status, text, what));
          }
        });
      });
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(
            new ClusterError(
              `${what}: no answer from the API server within ${timeoutMs / 1000}s (--request-timeout)`,
            ),
          ),
        );
      }
      req.on('error', (e) => reject(e instanceof ClusterError ? e : this.networkError(e, what)));
      req.end(payload);
    });
  }

  async get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('GET', path, opts)).body;
  }

  /** Turns socket and TLS errors into one line that says what to check. */
  networkError(e: unknown, what: string): ClusterError {
    const err = e as NodeJS.ErrnoException;
    const host = this.conn.server.host;
    if (err.name === 'AbortError') return new ClusterError(`${what}: interrupted`);
    const code = err.code ?? '';
    let hint = 'check --context and --kubeconfig';
    if (code === 'ECONNREFUSED') hint = 'is the cluster running? check --context and --kubeconfig';
    else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      hint = `cannot resolve ${this.conn.server.hostname}; check the server in your kubeconfig`;
    else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code))
      hint = "the server certificate is not trusted by the kubeconfig's certificate-authority";
    return new ClusterError(`cannot reach the API server at ${host} (${what}): ${err.message} (${hint})`, {
      cause: e,
    });
  }

  /** Frees sockets so the process can exit. */
  close(): void {
    this.agent.destroy();
  }
}

/** What `connect` needs to open a client: already parsed, no flag knowledge. */
export interface ConnectSettings {
  kubeconfig: string | undefined;
  context: string | undefined;
  /** Already resolved (by `options/global.ts` `resolveNamespace`); the client's default namespace. */
  namespace: string;
  requestTimeoutMs: number;
  /** Sockets to the API server at once (port-forwards each hold one). */
  maxSockets?: number;
}

/**
 * Opens a client for already-parsed settings (the namespace resolved, the timeout in ms): the function
 * `deps.kube` is wired to. It knows nothing of flags.
 */
export async function connect(settings: ConnectSettings, env: NodeJS.ProcessEnv): Promise<KubeClient> {
  const { loadKubeConnection } = await import('./config.js');
  const conn = loadKubeConnection(
    { kubeconfig: settings.kubeconfig, context: settings.context, namespace: settings.namespace },
    env,
  );
  return new KubeClient(conn, {
    requestTimeoutMs: settings.requestTimeoutMs,
    ...(settings.maxSockets !== undefined ? { maxSockets: settings.maxSockets } : {}),
  });
}
