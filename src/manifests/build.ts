import crypto from 'node:crypto';
import { UsageError } from '../errors.js';
import { ROUTE_KINDS } from '../policy/types.js';
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
 * Options → plain Kubernetes objects, exactly the shapes Linkerd accepts (SEMANTICS §1–5): EgressNetwork
 * policy.linkerd.io/v1alpha1; HTTPRoute and GRPCRoute gateway.networking.k8s.io/v1; TLSRoute and
 * TCPRoute v1alpha2 (what Linkerd watches). No field newer than Gateway API v1.2.1. Pure.
 *
 * They are server-side apply configurations: they hold only the fields egressctl owns, so applying
 * them never removes fields that other managers set (`egress deny` sends trafficPolicy and nothing
 * else unless --network is given).
 */

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  [k: string]: unknown;
}

const EGRESS_GROUP = 'policy.linkerd.io';
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
    apiVersion: `${EGRESS_GROUP}/v1alpha1`,
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

export type RouteType = 'http' | 'grpc' | 'tls' | 'tcp';

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

const ROUTE_KIND: Record<RouteType, { kind: string; apiVersion: string }> = {
  http: { kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1' },
  grpc: { kind: 'GRPCRoute', apiVersion: 'gateway.networking.k8s.io/v1' },
  tls: { kind: 'TLSRoute', apiVersion: 'gateway.networking.k8s.io/v1alpha2' },
  tcp: { kind: 'TCPRoute', apiVersion: 'gateway.networking.k8s.io/v1alpha2' },
};

/** The route kind and apiVersion egressctl emits for a type. */
export const routeKindOf = (t: RouteType) => ROUTE_KIND[t];

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
  const { kind, apiVersion } = ROUTE_KIND[o.type];
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

/** Linkerd honours one TCPRoute per parent port (the oldest): refuse a second one. */
export function checkOneTcpRoutePerPort(routes: Manifest[]): void {
  const seen = new Map<string, string>();
  for (const r of routes.filter((x) => x.kind === 'TCPRoute')) {
    const p = (r.spec.parentRefs as { name: string; port: number }[])[0];
    const key = `${p?.name}:${p?.port}`;
    const other = seen.get(key);
    if (other) {
      throw new UsageError(
        `TCPRoute ${r.metadata.name} would be the second TCPRoute on EgressNetwork ${p?.name} port ${p?.port} (after ${other}): Linkerd uses only one TCPRoute per port, the oldest, and ignores the rest`,
      );
    }
    seen.set(key, r.metadata.name);
  }
}

/**
 * Why a new route would conflict with the routes already on its parent port, or undefined. Mixed types
 * on one port make Linkerd accept only the highest (GRPCRoute > HTTPRoute > TLSRoute > TCPRoute) and mark
 * the others RouteReasonConflicted; a second TCPRoute on a port is ignored.
 */
export function routeTypeConflict(
  newRoute: { kind: string; name: string; port: number; network: string; networkNamespace: string },
  existing: {
    kind: string;
    name: string;
    namespace: string;
    port: number | undefined;
    network: string;
    networkNamespace: string;
  }[],
): string | undefined {
  const same = existing.filter(
    (e) =>
      e.network === newRoute.network &&
      e.networkNamespace === newRoute.networkNamespace &&
      e.port === newRoute.port &&
      e.name !== newRoute.name,
  );
  const others = same.filter(
    (e) => e.kind !== newRoute.kind && (ROUTE_KINDS as readonly string[]).includes(e.kind),
  );
  const where = `EgressNetwork ${newRoute.networkNamespace}/${newRoute.network} port ${newRoute.port}`;
  if (newRoute.kind === 'TCPRoute') {
    const tcp = same.find((e) => e.kind === 'TCPRoute');
    if (tcp)
      return `${where} already has TCPRoute ${tcp.namespace}/${tcp.name}: Linkerd uses only one TCPRoute per port (the oldest)`;
  }
  if (!others.length) return undefined;
  const rank = (k: string) => (ROUTE_KINDS as readonly string[]).indexOf(k);
  const list = others.map((e) => `${e.kind} ${e.namespace}/${e.name}`).join(', ');
  const winner = [newRoute.kind, ...others.map((e) => e.kind)].sort((a, b) => rank(a) - rank(b))[0];
  return winner === newRoute.kind
    ? `${where} already has ${list}: mixing route types on a port makes Linkerd accept only ${winner} (precedence GRPCRoute > HTTPRoute > TLSRoute > TCPRoute), so those would be rejected as RouteReasonConflicted`
    : `${where} already has ${list}: Linkerd accepts only ${winner} on a port with mixed route types (precedence GRPCRoute > HTTPRoute > TLSRoute > TCPRoute), so this ${newRoute.kind} would be rejected as RouteReasonConflicted`;
}
