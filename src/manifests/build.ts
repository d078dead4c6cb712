import crypto from 'node:crypto';
import { UsageError } from '../errors.js';
import {
  KINDS,
  apiVersionOfKind,
  routeKindForProtocol,
  type KindEntry,
  type RouteProtocol,
} from '../kinds.js';
import { routeConflicts } from '../policy/conflicts.js';
import { unexceptedOverlaps, type Cidr, type NetworkBlock } from '../net/cidr.js';
import {
  validateGrpcMethod,
  validateHeaderMatches,
  validateHostname,
  validateHostnames,
  validateMethod,
  validateName,
  validatePath,
  validateQueryParams,
  validateServiceName,
  type PathType,
} from './validate.js';
import { parseRequest } from '../net/request.js';

/**
 * Options → plain Kubernetes objects, exactly the shapes Linkerd accepts (linkerd2
 * `policy-controller/runtime/src/admission.rs` and the CRDs in `crds/`), in the versions the kinds
 * registry (src/kinds.ts) says Linkerd watches. No field newer than Gateway API v1.2.1. Pure.
 *
 * They are server-side apply configurations: they hold only the fields egressctl owns, so applying
 * them never removes fields that other managers set (`egress deny` sends trafficPolicy and nothing
 * else unless --network is given).
 */

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
  [k: string]: unknown;
}

const EGRESS_NETWORK = KINDS.find((k) => k.kind === 'EgressNetwork') as KindEntry;
const EGRESS_GROUP = EGRESS_NETWORK.group;
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'egressctl' };

/** The parentRef every egress route needs: group, kind and port are all required in practice. */
export function parentRef(network: string, namespace: string, port: number) {
  return { group: EGRESS_GROUP, kind: 'EgressNetwork', name: network, namespace, port };
}

/** `EgressNetwork` with a traffic policy (and networks, when given). */
export function egressNetwork(o: {
  name: string;
  namespace: string;
  trafficPolicy: 'Allow' | 'Deny';
  networks: NetworkBlock[];
  clusterNetworks: Cidr[];
}): Manifest {
  for (const n of o.networks) {
    const overlaps = unexceptedOverlaps(n, o.clusterNetworks);
    if (overlaps.length) {
      throw new UsageError(
        `--network ${n.cidr.text}${n.except.length ? `,except=${n.except.map((e) => e.text).join(',except=')}` : ''} overlaps the cluster network${overlaps.length > 1 ? 's' : ''} ${overlaps.map((c) => c.text).join(', ')}: ` +
          `Linkerd would mark EgressNetwork ${o.namespace}/${o.name} not Accepted (EgressReasonNetworkOverlap) and reject its routes; add ${overlaps.map((c) => `except=${c.text}`).join(',')}`,
      );
    }
  }
  return {
    apiVersion: apiVersionOfKind(EGRESS_NETWORK),
    kind: 'EgressNetwork',
    metadata: { name: o.name, namespace: o.namespace, labels: MANAGED_BY },
    spec: {
      trafficPolicy: o.trafficPolicy,
      ...(o.networks.length
        ? {
            networks: o.networks.map((n) => ({
              cidr: n.cidr.text,
              ...(n.except.length ? { except: n.except.map((e) => e.text) } : {}),
            })),
          }
        : {}),
    },
  };
}

export type RouteType = RouteProtocol;

export interface RouteOptions {
  type: RouteType;
  name: string;
  namespace: string;
  network: string;
  /** The EgressNetwork's namespace (its own namespace, or the route's). */
  networkNamespace: string;
  port: number;
  hostnames: string[];
  path?: string | undefined;
  pathType: PathType;
  method?: string | undefined;
  headers: string[];
  /** Exact query parameter matches (http only), checked by {@link validateQueryParams}. */
  queryParams?: { name: string; value: string }[] | undefined;
  /** `egress` (on to the original destination) or `svc/NAME:PORT` (redirect into the cluster). */
  backend: string;
}

/** The route kind and apiVersion egressctl emits for a type (the registry's gateway.networking.k8s.io kind). */
export const routeKindOf = (t: RouteType): { kind: string; apiVersion: string } => {
  const k = routeKindForProtocol(t);
  return { kind: k.kind, apiVersion: apiVersionOfKind(k) };
};

function backendRefs(o: RouteOptions): Record<string, unknown>[] | undefined {
  if (o.backend === 'egress') {
    // HTTP and gRPC rules without backendRefs forward to the original destination (the guide's
    // httpbin-get); TLS and TCP routes name the parent EgressNetwork, as the guide's tls-egress does.
    return o.type === 'http' || o.type === 'grpc'
      ? undefined
      : [{ group: EGRESS_GROUP, kind: 'EgressNetwork', name: o.network }];
  }
  const m = /^(?:svc|service)\/([^:]+):(\d+)$/.exec(o.backend);
  if (!m)
    throw new UsageError(
      `invalid --backend "${o.backend}": want svc/NAME:PORT (redirect to an in-cluster Service) or egress (on to the original host)`,
    );
  const name = validateServiceName('--backend', o.backend, m[1] as string);
  const port = Number(m[2]);
  if (port < 1 || port > 65535)
    throw new UsageError(`invalid --backend "${o.backend}": the Service port must be from 1 to 65535`);
  // kind and group omitted = core Service (the CRD defaults them); a Service backend needs its port (the
  // CRD's CEL rule "Must have port for Service reference", and Linkerd's "missing port for backend Service").
  return [{ name, port }];
}

/** Any route of the guide, or beyond: the full builder behind `egress route`. */
export function route(o: RouteOptions): Manifest {
  validateName('NAME', o.name);
  validateName('--network', o.network);
  const hostnames = validateHostnames('--hostname', o.hostnames);
  if (o.path === undefined && o.pathType !== 'PathPrefix')
    throw new UsageError(`--path-type ${o.pathType} needs --path: it says how --path matches`);
  if (
    (o.type === 'tls' || o.type === 'tcp') &&
    (o.path !== undefined || o.method !== undefined || o.headers.length)
  ) {
    throw new UsageError(
      `--path, --method and --header do not apply to ${o.type} routes: ${o.type === 'tls' ? 'TLS routes match the SNI hostname only' : 'TCP routes match every connection on the port'}`,
    );
  }
  if (o.type === 'tcp' && hostnames.length)
    throw new UsageError(
      '--hostname does not apply to tcp routes: a TCPRoute matches every connection on its port',
    );
  if (o.type === 'grpc' && o.path !== undefined)
    throw new UsageError('--path does not apply to grpc routes: use --method SERVICE[/METHOD]');
  const refs = backendRefs(o);
  const { kind, apiVersion } = routeKindOf(o.type);
  const spec: Record<string, unknown> = {
    parentRefs: [parentRef(o.network, o.networkNamespace, o.port)],
    ...(hostnames.length ? { hostnames } : {}),
  };
  const rule: Record<string, unknown> = {};
  if (o.type === 'http') {
    const match: Record<string, unknown> = {};
    if (o.path !== undefined)
      match.path = { type: o.pathType, value: validatePath('--path', o.path, o.pathType) };
    if (o.method !== undefined) match.method = validateMethod('--method', o.method);
    if (o.headers.length)
      match.headers = validateHeaderMatches('--header', o.headers).map((h) => ({ type: 'Exact', ...h }));
    if (o.queryParams?.length) match.queryParams = o.queryParams.map((q) => ({ type: 'Exact', ...q }));
    if (Object.keys(match).length) rule.matches = [match];
  } else if (o.type === 'grpc') {
    const match: Record<string, unknown> = {};
    if (o.method !== undefined) match.method = { type: 'Exact', ...validateGrpcMethod('--method', o.method) };
    if (o.headers.length)
      match.headers = validateHeaderMatches('--header', o.headers).map((h) => ({ type: 'Exact', ...h }));
    if (Object.keys(match).length) rule.matches = [match];
  }
  if (refs) rule.backendRefs = refs;
  spec.rules = [rule];
  return { apiVersion, kind, metadata: { name: o.name, namespace: o.namespace, labels: MANAGED_BY }, spec };
}

/** A DNS-1123 name from parts, readable, at most 63 characters (a hash suffix keeps long ones unique). */
export function routeName(...parts: string[]): string {
  const base = parts
    .join('-')
    .toLowerCase()
    .replace(/\*/g, 'wildcard')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (base.length <= 63) return base;
  const hash = crypto.createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/**
 * `egress allow URL`: the short way to let exactly some destinations through. Each URL becomes one
 * route on the namespace's EgressNetwork.
 */
export function routeForUrl(
  url: string,
  o: { namespace: string; network: string; networkNamespace: string; exact: boolean },
): Manifest {
  // The grammar (scheme, host, port, path, query) is net/request.ts; what follows are route rules.
  const { scheme, host, port, path: written, query } = parseRequest(url, 'destination');
  const path = written || undefined;
  const base = {
    namespace: o.namespace,
    network: o.network,
    networkNamespace: o.networkNamespace,
    headers: [],
    pathType: 'PathPrefix' as PathType,
    backend: 'egress',
  };
  const queryText = url.slice(url.indexOf('?'));
  switch (scheme) {
    case 'http': {
      validateHostname(`URL ${url}: host`, host);
      const queryParams = validateQueryParams(`URL ${url}: query`, query);
      // `--exact` with no path means exactly `/`; without it, no path means every path (no match at all).
      const p = o.exact ? path || '/' : path && path !== '/' ? path : undefined;
      return route({
        ...base,
        type: 'http',
        name: routeName(
          'http',
          host,
          ...(p ? [p] : []),
          ...(port !== 80 ? [String(port)] : []),
          ...queryParams.flatMap((q) => [q.name, q.value]),
        ),
        port,
        hostnames: [host],
        path: p,
        pathType: o.exact ? 'Exact' : 'PathPrefix',
        queryParams,
      });
    }
    case 'https': {
      if (path && path !== '/') {
        throw new UsageError(
          `"${url}": HTTPS is matched by the TLS SNI hostname only, never by path (the proxy cannot see inside TLS); drop "${path}"`,
        );
      }
      if (query.length)
        throw new UsageError(
          `"${url}": HTTPS is matched by the TLS SNI hostname only, never by query (the proxy cannot see inside TLS); drop "${queryText}"`,
        );
      validateHostname(`URL ${url}: host`, host);
      return route({
        ...base,
        type: 'tls',
        name: routeName('tls', host, ...(port !== 443 ? [String(port)] : [])),
        port,
        hostnames: [host],
      });
    }
    case 'grpc': {
      validateHostname(`URL ${url}: host`, host);
      const method = path && path !== '/' ? path.slice(1) : undefined;
      return route({
        ...base,
        type: 'grpc',
        name: routeName('grpc', host, String(port), ...(method ? [method] : [])),
        port,
        hostnames: [host],
        method,
      });
    }
    case 'tcp': {
      if (host)
        throw new UsageError(
          `"${url}": TCP routes cannot match a host (a TCPRoute takes every connection on its port); use tcp://:${port}`,
        );
      return route({ ...base, type: 'tcp', name: routeName('tcp', String(port)), port, hostnames: [] });
    }
  }
}

/**
 * Linkerd honours one route of a one-per-port kind (TCPRoute) per parent port, the oldest: refuse a
 * second one among the routes about to be written (the rule is src/policy/conflicts.ts's).
 */
export function checkOneTcpRoutePerPort(routes: Manifest[]): void {
  const entries = routes.map((r) => {
    const p = (r.spec.parentRefs as { name: string; port: number }[] | undefined)?.[0];
    return { kind: r.kind, port: `${p?.name}:${p?.port}`, r, p };
  });
  for (const [x, v] of routeConflicts(entries)) {
    if (!v.ignoredFor) continue;
    throw new UsageError(
      `${x.kind} ${x.r.metadata.name} would be the second ${x.kind} on EgressNetwork ${x.p?.name} port ${x.p?.port} (after ${v.ignoredFor.r.metadata.name}): Linkerd uses only one ${x.kind} per port, the oldest, and ignores the rest`,
    );
  }
}

/** Why a new route would conflict with those on its port: the one rule, in src/policy/conflicts.ts. */
export { routeTypeConflict } from '../policy/conflicts.js';
