import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError, type EgressctlError, Interrupted, interruptedBy } from '../errors.js';
import { timerDelay } from '../options/duration.js';
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
  /** The response's `Retry-After` in seconds, when it sent one (429 and 503 do). */
  retryAfterSeconds: number | undefined;
  constructor(code: number, status: KubeStatus | undefined, text: string, what: string) {
    super(describeApiError(code, status, text, what));
    this.code = code;
    this.status = status;
    this.reason = status?.reason ?? '';
  }
}

/** The command's deadline: how long, which flag raises it, and when it started (epoch ms). */
export interface Deadline {
  ms: number;
  flag: string;
  startedAt?: number | undefined;
}

/**
 * GET retries, after client-go (`rest/request.go` `isErrRetryableFunc`, `rest/with_retry.go`): only
 * idempotent GETs, only on 429 and 503 (whose `Retry-After` is honoured) or a connection reset, at most
 * 10 attempts (client-go's default maxRetries), never past the deadline. Without `Retry-After` the wait
 * doubles from 500ms to a cap of 4s.
 */
const MAX_ATTEMPTS = 10;
const BACKOFF_START_MS = 500;
const BACKOFF_CAP_MS = 4000;
const RETRIED_STATUS = new Set([429, 503]);

/** How long to wait before retrying a GET that failed with `e`; undefined when it must not be retried. */
function retryDelay(e: unknown, attempt: number): { ms: number; why: string } | undefined {
  const backoff = Math.min(BACKOFF_START_MS * 2 ** (attempt - 1), BACKOFF_CAP_MS);
  if (e instanceof ApiError) {
    if (!RETRIED_STATUS.has(e.code)) return undefined;
    const why = `${e.code} ${http.STATUS_CODES[e.code] ?? ''}`.trim();
    return { ms: e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : backoff, why };
  }
  const code = (e as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  if (code === 'ECONNRESET') return { ms: backoff, why: 'connection reset by the server' };
  return undefined;
}

/** `Retry-After` as seconds (RFC 9110 also allows an HTTP date, which the API server never sends). */
function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s !== undefined && /^\d+$/.test(s.trim()) ? Number(s) : undefined;
}

const showMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

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
      if (!status?.reason) return `${what} failed: ${msg} (HTTP ${code})`;
      // An overloaded or failing server says nothing of the object ("the server is failing"), unlike a
      // 404 or 409: name what was asked (the pod of a port-forward, the list of a scrape).
      if (code === 429 || code >= 500) return `${what}: ${msg} (${code} ${status.reason})`;
      return `${msg} (${code} ${status.reason})`;
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
  private readonly interrupt: AbortSignal | undefined;
  private readonly deadline: Deadline | undefined;
  private readonly log: ((line: string) => void) | undefined;
  private stage!: { controller: AbortController; timer?: NodeJS.Timeout; endsAt: number };
  private readonly onInterrupt = (): void => this.stage.controller.abort(this.interrupt?.reason);

  constructor(
    conn: KubeConnection,
    opts: {
      requestTimeoutMs?: number;
      maxSockets?: number;
      /** Ctrl-C: aborts every request, port-forward and exec plugin of this client. */
      signal?: AbortSignal | undefined;
      deadline?: Deadline | undefined;
      /** Where retries are told (with -v). */
      log?: ((line: string) => void) | undefined;
    } = {},
  ) {
    this.conn = conn;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 0;
    this.interrupt = opts.signal;
    this.deadline = opts.deadline;
    this.log = opts.log;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 32 };
    this.agent =
      conn.server.protocol === 'https:'
        ? new https.Agent({ ...agentOpts, ...this.tlsOptions(), secureContext: this.secureContext })
        : new http.Agent(agentOpts);
    this.interrupt?.addEventListener('abort', this.onInterrupt);
    this.restartDeadline(opts.deadline?.startedAt);
  }

  /**
   * Aborted on Ctrl-C or when the deadline passes: everything this client opens listens to it, so no
   * socket outlives either. `abortError` says which.
   */
  get signal(): AbortSignal {
    return this.stage.controller.signal;
  }

  /**
   * Starts the deadline again from `startedAt` (now by default): for commands that repeat their work
   * (`egress stat --watch`), whose deadline bounds each round.
   */
  restartDeadline(startedAt = Date.now()): void {
    if (this.stage?.timer) clearTimeout(this.stage.timer);
    const controller = new AbortController();
    // Every request and port-forward in flight listens on it (up to --max-concurrency of them).
    setMaxListeners(0, controller.signal);
    const endsAt = this.deadline ? startedAt + this.deadline.ms : Number.POSITIVE_INFINITY;
    this.stage = { controller, endsAt };
    if (this.interrupt?.aborted) controller.abort(this.interrupt.reason);
    else if (this.deadline) {
      this.stage.timer = setTimeout(() => controller.abort(), timerDelay(endsAt - Date.now()));
      // Between rounds of --watch nothing waits on it; it must not keep the process alive.
      this.stage.timer.unref();
    }
  }

  /** Whether Ctrl-C (SIGINT or SIGTERM) came. */
  get interrupted(): boolean {
    return this.interrupt?.aborted === true;
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  remainingMs(): number {
    return this.stage.endsAt - Date.now();
  }

  /**
   * The one-line error for work `what` (e.g. `list pods in namespace x`) stopped by `signal`: Interrupted
   * on Ctrl-C, else the deadline naming the server, the stage and the flag that raises it.
   */
  abortError(what: string): EgressctlError {
    if (this.interrupt?.aborted) return interruptedBy(this.interrupt, `during ${what}`);
    const d = this.deadline;
    if (!d) return new Interrupted('SIGINT', `${what}: interrupted`);
    return new ClusterError(
      `${what}: not done within ${d.flag} ${showMs(d.ms)}, waiting on the API server at ${this.conn.server.host} (raise ${d.flag} to wait longer)`,
    );
  }

  get namespace(): string {
    return this.conn.namespace;
  }

  #secureContext: tls.SecureContext | undefined;

  /**
   * The kubeconfig's CA and client certificate, parsed once for every connection of this client (REST
   * and port-forwards): node's https.Agent otherwise builds a context per connection, parsing them again.
   */
  get secureContext(): tls.SecureContext {
    const { ca, cert, key } = this.tlsOptions();
    return (this.#secureContext ??= tls.createSecureContext({ ca, cert, key }));
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

  /**
   * One API request within the client's deadline and Ctrl-C. GETs are retried as client-go retries
   * them (see `retryDelay`); other verbs never are, since a write the server may have applied must not
   * be sent twice.
   */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
    const what = opts.what ?? `${method} ${path}`;
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.signal]) : this.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt<T>(method, path, opts, what, signal);
      } catch (e) {
        const retry = method === 'GET' && attempt < MAX_ATTEMPTS ? retryDelay(e, attempt) : undefined;
        // A wait that would end past the deadline is no retry: the server's own error says more.
        if (!retry || signal.aborted || retry.ms >= this.remainingMs()) throw e;
        this.log?.(
          `retrying ${method} ${path} after ${showMs(retry.ms)}: ${retry.why} (attempt ${attempt + 1})`,
        );
        try {
          await sleep(timerDelay(retry.ms), undefined, { signal });
        } catch {
          throw this.abortError(what);
        }
      }
    }
  }

  private async attempt<T>(
    method: string,
    path: string,
    opts: RequestOptions,
    what: string,
    signal: AbortSignal,
  ): Promise<Response<T>> {
    if (signal.aborted) throw this.abortError(what);
    const url = this.url(path, opts.query);
    let auth: Record<string, string | string[]>;
    try {
      auth = await this.conn.headers(signal);
    } catch (e) {
      if (signal.aborted) throw this.abortError(`${what} (running the kubeconfig's credential plugin)`);
      throw e;
    }
    const headers: Record<string, string | string[]> = { Accept: 'application/json', ...auth };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<Response<T>>((resolve, reject) => {
      const fail = (e: unknown): void =>
        reject(
          signal.aborted ? this.abortError(what) : e instanceof ClusterError ? e : this.networkError(e, what),
        );
      const req = mod.request(url, { method, headers, agent: this.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete)
            fail(Object.assign(new Error('the response was cut short'), { code: 'ECONNRESET' }));
        });
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
            const err = new ApiError(code, status, text, what);
            err.retryAfterSeconds = parseRetryAfter(res.headers['retry-after']);
            reject(err);
          }
        });
      });
      if (timeoutMs > 0) {
        req.setTimeout(timerDelay(timeoutMs), () =>
          req.destroy(
            new ClusterError(
              `${what}: no answer from the API server within ${timeoutMs / 1000}s (--request-timeout)`,
            ),
          ),
        );
      }
      req.on('error', fail);
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

  /** Frees sockets and timers so the process can exit. */
  close(): void {
    if (this.stage.timer) clearTimeout(this.stage.timer);
    this.interrupt?.removeEventListener('abort', this.onInterrupt);
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
  /** The command's deadline (its --timeout): every request, port-forward and credential plugin within it. */
  deadline?: Deadline | undefined;
  /** Ctrl-C. */
  signal?: AbortSignal | undefined;
  /** Where -v lines (retries) go. */
  log?: ((line: string) => void) | undefined;
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
    signal: settings.signal,
    deadline: settings.deadline,
    log: settings.log,
  });
}
