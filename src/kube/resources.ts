import { ClusterError } from '../errors.js';
import { KINDS, apiVersionOfKind, deletableKindNames, kindByName, type KindEntry } from '../kinds.js';
import { ApiError } from './rest.js';

/** A Kubernetes object as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** How to address one kind of resource over REST: an entry of the kinds registry (src/kinds.ts). */
export type ResourceType = KindEntry;

/**
 * The kinds egressctl reads and writes: the CRDs, then the built-in kinds the policy reads (Service),
 * then Namespace.
 */
export const RESOURCES: readonly ResourceType[] = [
  ...KINDS.filter((k) => k.crd),
  ...KINDS.filter((k) => !k.crd && k.policy),
  ...KINDS.filter((k) => k.kind === 'Namespace' && k.group === ''),
];

/** `group/version` as written in apiVersion (`v1` for the core group). */
export function apiVersionOf(r: ResourceType): string {
  return apiVersionOfKind(r);
}

/** Finds the resource type of an object by apiVersion and kind. */
export function resourceFor(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Finds a resource type by a kubectl-style name: `egressnetwork`, `httproutes`, `tlsroute.gateway.networking.k8s.io`. */
export function resourceByName(name: string): ResourceType | undefined {
  return kindByName(name, RESOURCES);
}

/**
 * The usage error's list of what `egress delete` takes:
 * `egressnetwork, httproute, grpcroute, tlsroute, tcproute (or plural.group, e.g. httproutes.policy.linkerd.io)`.
 */
export function deletableKindsText(): string {
  return `${deletableKindNames().join(', ')} (or plural.group, e.g. httproutes.policy.linkerd.io)`;
}

/** The REST path of a collection or of one object. */
export function resourcePath(r: ResourceType, namespace: string | undefined, name?: string): string {
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${ns}/${r.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** kubectl's `plural.group/name` form, e.g. `egressnetwork.policy.linkerd.io/all-egress-traffic`. */
export function objectRef(o: { kind: string; apiVersion: string; metadata: { name: string } }): string {
  const r = resourceFor(o.apiVersion, o.kind);
  const group = r?.group ?? o.apiVersion.split('/').slice(0, -1).join('/');
  return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.metadata.name}`;
}

/**
 * True when a 404 means "this group/version or resource is not served" rather than "this object does not
 * exist": the API server answers the former with a plain-text `404 page not found`, not a Status.
 */
export function isNotServed(e: unknown): boolean {
  return e instanceof ApiError && e.code === 404 && e.status === undefined;
}

/** The error for a kind the cluster does not serve, saying what to install. */
export function notServedError(r: ResourceType, cause: unknown): ClusterError {
  return new ClusterError(
    `the cluster does not serve ${r.kind} (${r.plural}.${r.group}/${r.version}): ${r.install}`,
    { cause },
  );
}
