import type http from 'node:http';
import type tls from 'node:tls';
import type { Faults } from './faults.js';
import { qualified } from './responses.js';
import type { ServedResource } from './resources.js';
import { StoreError } from './store.js';

/** Who may call: a bearer token, or (over HTTPS) a client certificate signed by the sandbox CA. */
export type Authenticate = (req: http.IncomingMessage) => boolean;

/**
 * RBAC as the sandbox plays it: the 403 StoreError for (verb, resource) on a kind in a namespace, or
 * undefined when allowed. `resource` is the RBAC resource (`pods`, `pods/portforward`, `egressnetworks/status`).
 */
export type Authorize = (
  r: ServedResource,
  verb: string,
  resource: string,
  ns: string | undefined,
  name?: string,
) => StoreError | undefined;

/** Token auth when `token` is set (any request otherwise); client certificates the TLS layer verified. */
export function tokenOrCertAuth(token: string | undefined): Authenticate {
  return (req) => {
    if (!token || req.headers.authorization === `Bearer ${token}`) return true;
    const sock = req.socket as tls.TLSSocket;
    return sock.encrypted === true && sock.authorized && Boolean(sock.getPeerCertificate()?.subject?.CN);
  };
}

/** Everything is allowed except the (verb, resource, namespace?) triples in `faults.deny`. */
export function denyListAuthorizer(faults: Faults, user: string): Authorize {
  return (r, verb, resource, ns, name) => {
    const hit = faults.deny.find(
      (d) => d.verb === verb && d.resource === resource && (d.namespace === undefined || d.namespace === ns),
    );
    if (!hit) return undefined;
    const scope = ns ? `in the namespace "${ns}"` : 'at the cluster scope';
    const what = name ? `${qualified(r)} "${name}"` : qualified(r);
    return new StoreError(
      403,
      'Forbidden',
      `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${r.group}" ${scope}`,
      { ...(name ? { name } : {}), group: r.group, kind: r.plural },
    );
  };
}

/** Verb of a request, as RBAC names it. */
export const verbOf = (method: string, named: boolean): string =>
  ({ GET: named ? 'get' : 'list', POST: 'create', DELETE: 'delete', PATCH: 'patch', PUT: 'update' })[
    method
  ] ?? method.toLowerCase();
