import http from 'node:http';
import type { ServedResource } from './resources.js';
import type { StoreError } from './store.js';

/** Writes `body` as a JSON response with its Content-Length. */
export function json(
  res: http.ServerResponse,
  code: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

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

/** The Status body of a StoreError. */
export const statusOf = (e: StoreError) => statusBody(e.code, e.reason, e.message, e.details);

/** The mux's plain-text 404, which kube-apiserver answers for paths nothing serves. */
export function notFoundText(res: http.ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end('404 page not found\n');
}

export function methodNotAllowed(res: http.ServerResponse): void {
  json(
    res,
    405,
    statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
  );
}

/** `plural.group`, or `plural` for core kinds: how RBAC messages and `faults.notServed` name a kind. */
export const qualified = (r: ServedResource): string => `${r.plural}${r.group ? `.${r.group}` : ''}`;
export const apiVersionOf = (r: ServedResource): string => (r.group ? `${r.group}/${r.version}` : r.version);
