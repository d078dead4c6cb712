import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { ClusterError, UsageError } from '../errors.js';

/**
 * A small client for the Prometheus HTTP API (`/api/v1/query`), as Prometheus, Thanos, Mimir and
 * Cortex serve it (prometheus.io/docs/prometheus/latest/querying/api). Only instant queries: every
 * egress view is one `sum by (...)` per family, evaluated once.
 */

/** One HTTP exchange with the server; `url` is a URL, or a port-forward to a pod (discover.ts). */
export type Transport = (req: {
  method: 'GET' | 'POST';
  /** Path and query string, e.g. `/api/v1/query?query=...`. */
  path: string;
  body?: string;
  headers: Record<string, string>;
  signal: AbortSignal | undefined;
  deadlineMs: number;
}) => Promise<{ statusCode: number; body: Buffer }>;

export interface Endpoint {
  /** How errors name the server: the URL without credentials, or `linkerd-viz's Prometheus (pod ns/name)`. */
  name: string;
  send: Transport;
  /** GET only (a port-forward carries one request with no body): long queries still fit in Go's 1 MiB header limit. */
  getOnly?: boolean;
}

export interface Auth {
  /** `Authorization: Bearer` (from --prometheus-token-file). */
  token?: string | undefined;
  /** `user:password` (from the URL's userinfo or --prometheus-basic-auth). */
  basic?: string | undefined;
  /** PEM bundle to trust (--prometheus-ca-file). */
  ca?: Buffer | undefined;
  /** Extra headers, e.g. `X-Scope-OrgID` for Mimir and Cortex. */
  headers?: Record<string, string>;
}

/** Reads the auth flags' files; a missing file is a usage error naming the flag. */
export function readAuthFiles(o: { tokenFile?: string | undefined; caFile?: string | undefined }): Auth {
  const read = (file: string, flag: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new UsageError(`cannot read ${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  return {
    token: o.tokenFile ? read(o.tokenFile, '--prometheus-token-file').toString('utf8').trim() : undefined,
    ca: o.caFile ? read(o.caFile, '--prometheus-ca-file') : undefined,
  };
}

/** The URL as error messages print it: no userinfo, no trailing slash. */
export function displayUrl(u: URL): string {
  const c = new URL(u.href);
  c.username = '';
  c.password = '';
  return c.href.replace(/\/$/, '');
}

/** An endpoint speaking HTTP(S) to `base` (its path prefix is kept: `https://host/prometheus`). */
export function urlEndpoint(base: URL, auth: Auth = {}): Endpoint {
  const userinfo = base.username
    ? `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`
    : undefined;
  const basic = auth.basic ?? userinfo;
  const prefix = base.pathname.replace(/\/$/, '');
  const lib = base.protocol === 'https:' ? https : http;
  const send: Transport = (req) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'Accept-Encoding': 'gzip',
        'User-Agent': 'egressctl',
        ...(auth.token ? { Authorization: `Bearer ${auth.token}` } : {}),
        ...(basic && !auth.token ? { Authorization: `Basic ${Buffer.from(basic).toString('base64')}` } : {}),
        ...auth.headers,
        ...req.headers,
      };
      const r = lib.request(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || undefined,
          method: req.method,
          path: prefix + req.path,
          headers,
          ...(auth.ca ? { ca: auth.ca } : {}),
          signal: req.signal,
          timeout: req.deadlineMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', reject);
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            try {
              const gz = /\bgzip\b/i.test(String(res.headers['content-encoding'] ?? ''));
              resolve({ statusCode: res.statusCode ?? 0, body: gz ? zlib.gunzipSync(raw) : raw });
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          });
        },
      );
      const deadline = setTimeout(
        () => r.destroy(new Error(`no answer within ${req.deadlineMs / 1000}s`)),
        req.deadlineMs,
      );
      r.on('close', () => clearTimeout(deadline));
      r.on('timeout', () => r.destroy(new Error(`no answer within ${req.deadlineMs / 1000}s`)));
      r.on('error', reject);
      r.end(req.body);
    });
  return { name: displayUrl(base), send };
}

/** One element of an instant vector; `value` is finite (NaN and ±Inf, "no data", are dropped). */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

export interface QueryOptions {
  /** What the query is for, in the one-line error: `HTTP request counts`. */
  purpose: string;
  signal?: AbortSignal | undefined;
  deadlineMs: number;
  /** Evaluation time (seconds since the epoch); the server's now when absent. */
  time?: number | undefined;
  /** Called once per warning the server attached to its answer. */
  onWarning?: (warning: string) => void;
}

/** Queries at least this long go in a POST body (form-encoded), as the API allows. */
const POST_OVER = 1500;

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  warnings?: string[];
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
}

/** Runs an instant query; every failure is one ClusterError naming the server and the purpose. */
export async function instantQuery(e: Endpoint, query: string, o: QueryOptions): Promise<VectorSample[]> {
  const params = new URLSearchParams({ query });
  if (o.time !== undefined) params.set('time', String(o.time));
  params.set('timeout', `${Math.max(1, Math.floor(o.deadlineMs / 1000))}s`);
  const form = params.toString();
  const post = form.length > POST_OVER && !e.getOnly;
  const what = `${e.name}: the query for ${o.purpose}`;
  let res: { statusCode: number; body: Buffer };
  try {
    res = await e.send({
      method: post ? 'POST' : 'GET',
      path: post ? '/api/v1/query' : `/api/v1/query?${form}`,
      ...(post ? { body: form } : {}),
      headers: post ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
      signal: o.signal,
      deadlineMs: o.deadlineMs,
    });
  } catch (err) {
    if (err instanceof ClusterError) throw err;
    const x = err as NodeJS.ErrnoException;
    if (x.name === 'AbortError') throw new ClusterError(`${what}: interrupted`);
    throw new ClusterError(
      `${what} failed: ${x.code ?? x.message}: check the URL and that Prometheus is up`,
      {
        cause: err,
      },
    );
  }
  let j: ApiAnswer | undefined;
  try {
    j = JSON.parse(res.body.toString('utf8')) as ApiAnswer;
  } catch {
    j = undefined;
  }
  if (res.statusCode === 401 || res.statusCode === 403)
    throw new ClusterError(
      `${what} was refused (HTTP ${res.statusCode}): check --prometheus-token-file, the URL's user:password, or --prometheus-header`,
    );
  if (j?.status === 'error')
    throw new ClusterError(
      `${what} failed (HTTP ${res.statusCode}, ${j.errorType ?? 'error'}): ${(j.error ?? '').split('\n')[0]}`,
    );
  if (res.statusCode !== 200 || j?.status !== 'success')
    throw new ClusterError(
      `${what} got HTTP ${res.statusCode} without a Prometheus answer: is this the Prometheus HTTP API (…/api/v1/query)?`,
    );
  for (const w of j.warnings ?? []) o.onWarning?.(`${e.name}: ${w}`);
  if (j.data?.resultType !== 'vector')
    throw new ClusterError(`${what} answered a ${j.data?.resultType ?? 'missing'} result, not a vector`);
  const out: VectorSample[] = [];
  for (const r of j.data.result ?? []) {
    const v = Number(r.value?.[1]);
    if (Number.isFinite(v)) out.push({ metric: r.metric ?? {}, value: v });
  }
  return out;
}
