import { ROUTE_KIND_NAMES, isRouteObject } from '../kinds.js';

/** The objects the policy engine reads, as plain Kubernetes JSON (from files or the cluster). */
export interface PolicyObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    creationTimestamp?: string;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  /** Where it came from, for lint messages (`file.yaml:12`); absent for live objects. */
  source?: string;
}

export interface ParentRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  sectionName?: string;
}

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export const EGRESS_GROUP = 'policy.linkerd.io';
export const CONTROLLER = 'linkerd.io/policy-controller';
/** A route kind's name: every route kind is named `…Route`. */
export type RouteKind = `${string}Route`;
/** Route kind names in precedence order (from the kinds registry, src/kinds.ts). */
export const ROUTE_KINDS = ROUTE_KIND_NAMES as readonly RouteKind[];
export const DEFAULT_OPAQUE_PORTS = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];
export const DEFAULT_CLUSTER_NETWORKS = '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8';

export const ns = (o: PolicyObject): string => o.metadata.namespace ?? 'default';
export const id = (o: PolicyObject): string => `${o.kind} ${ns(o)}/${o.metadata.name}`;
/** A route kind Linkerd reads, by group and kind (both HTTPRoute groups). */
export const isRoute = (o: PolicyObject): boolean => isRouteObject(o);

export function parentRefs(route: PolicyObject): ParentRef[] {
  return ((route.spec?.parentRefs as ParentRef[] | undefined) ?? []).filter(
    (p) => p && typeof p.name === 'string',
  );
}

/** parentRefs that point at an EgressNetwork (by kind; `group` is checked by callers that care). */
export function egressParents(route: PolicyObject): (ParentRef & { namespace: string })[] {
  return parentRefs(route)
    .filter((p) => p.kind === 'EgressNetwork')
    .map((p) => ({ ...p, namespace: p.namespace ?? ns(route) }));
}

export function rules(route: PolicyObject): Record<string, unknown>[] {
  return (route.spec?.rules as Record<string, unknown>[] | undefined) ?? [];
}

/** Byte order, as Rust compares `str` (`localeCompare` would follow a locale instead). */
export const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A creation time as milliseconds, or undefined when the object has none (or an unreadable one). */
export function createdAt(o: PolicyObject): number | undefined {
  const t = o.metadata.creationTimestamp;
  if (t === undefined || t === '') return undefined;
  // Sorting routes by age asks each object's time many times over (a plan: per decision).
  const seen = CREATED.get(o);
  if (seen && seen.text === t) return seen.ms;
  const parsed = Date.parse(t);
  const ms = Number.isNaN(parsed) ? undefined : parsed;
  CREATED.set(o, { text: t, ms });
  return ms;
}

const CREATED = new WeakMap<PolicyObject, { text: string; ms: number | undefined }>();

/**
 * The order routes reach the proxy in: linkerd2's `timestamp_then_name`
 * (policy-controller/k8s/index/src/outbound/index.rs): oldest first, and "routes with timestamps are
 * preferred over routes without", so a route with no creationTimestamp (a file) comes after every
 * route that has one; then by name alone, in byte order. Equal names in two namespaces are left in an
 * order upstream does not define; we take the namespace, so the answer is stable.
 *
 * EgressNetworks are ordered differently (no timestamp counts as the oldest): `compareNetworks` in
 * ./networks.ts.
 */
export function byAge(a: PolicyObject, b: PolicyObject): number {
  const ta = createdAt(a);
  const tb = createdAt(b);
  if (ta !== tb) return ta === undefined ? 1 : tb === undefined ? -1 : ta - tb;
  return byteOrder(a.metadata.name, b.metadata.name) || byteOrder(ns(a), ns(b));
}
