import { ClusterError } from '../errors.js';
import { ApiError } from './rest.js';

/** A Kubernetes object as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** How to address one kind of resource over REST. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Shown when the API server does not serve this group/version: what to install. */
  install: string;
}

const LINKERD_CRDS = 'install the Linkerd 2.17+ CRDs (linkerd install --crds | kubectl apply -f -)';
const GATEWAY_STANDARD =
  'install the Gateway API CRDs (standard channel, v1.1.1 or later), or linkerd install --crds --set installGatewayAPI=true';
const GATEWAY_EXPERIMENTAL =
  'it comes only with the Gateway API experimental channel: install that channel (kubectl apply --server-side -f experimental-install.yaml), or linkerd install --crds --set installGatewayAPI=true';

/** The kinds egressctl reads and writes. */
export const RESOURCES: readonly ResourceType[] = [
  {
    group: 'policy.linkerd.io',
    version: 'v1alpha1',
    kind: 'EgressNetwork',
    plural: 'egressnetworks',
    namespaced: true,
    install: LINKERD_CRDS,
  },
  {
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    kind: 'HTTPRoute',
    plural: 'httproutes',
    namespaced: true,
    install: GATEWAY_STANDARD,
  },
  {
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    kind: 'GRPCRoute',
    plural: 'grpcroutes',
    namespaced: true,
    install: GATEWAY_STANDARD,
  },
  {
    group: 'gateway.networking.k8s.io',
    version: 'v1alpha2',
    kind: 'TLSRoute',
    plural: 'tlsroutes',
    namespaced: true,
    install: GATEWAY_EXPERIMENTAL,
  },
  {
    group: 'gateway.networking.k8s.io',
    version: 'v1alpha2',
    kind: 'TCPRoute',
    plural: 'tcproutes',
    namespaced: true,
    install: GATEWAY_EXPERIMENTAL,
  },
  {
    group: 'policy.linkerd.io',
    version: 'v1beta3',
    kind: 'HTTPRoute',
    plural: 'httproutes',
    namespaced: true,
    install: LINKERD_CRDS,
  },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, install: '' },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, install: '' },
];

/** `group/version` as written in apiVersion (`v1` for the core group). */
export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Finds the resource type of an object by apiVersion and kind. */
export function resourceFor(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Finds a resource type by a kubectl-style name: `egressnetwork`, `httproutes`, `tlsroute.gateway.networking.k8s.io`. */
export function resourceByName(name: string): ResourceType | undefined {
  const n = name.toLowerCase();
  return (
    RESOURCES.find(
      (r) =>
        r.group !== '' &&
        (n === r.kind.toLowerCase() ||
          n === r.plural ||
          n === `${r.plural}.${r.group}` ||
          n === `${r.kind.toLowerCase()}.${r.group}`),
    ) ?? RESOURCES.find((r) => n === r.kind.toLowerCase() || n === r.plural)
  );
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
