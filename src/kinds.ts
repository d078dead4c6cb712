/**
 * The one registry of the Kubernetes kinds egressctl knows: what the REST client addresses, what target
 * resolution accepts, what the manifest builders emit, what the policy engine, lint and status read, and
 * what the sandbox's API server serves. Adding a kind, or a route kind, is adding an entry here. Pure
 * data and small pure lookups.
 *
 * CRD facts (group, versions, plural, singular, scope) are those of the CRDs in `crds/` (a test holds
 * them equal); the versions egressctl writes are the ones Linkerd's policy controller watches
 * (linkerd2 `policy-controller/k8s/api/src/lib.rs`). Route precedence and "one TCPRoute per port" are
 * the policy controller's outbound index (linkerd2 `policy-controller/k8s/index/src/outbound/index.rs`).
 */

/** How a route kind's traffic is spoken on its port. */
export type RouteProtocol = 'http' | 'grpc' | 'tls' | 'tcp';

export interface RouteFacts {
  protocol: RouteProtocol;
  /**
   * Precedence among the route kinds on one parent port, 0 first: Linkerd uses the kind with the lowest
   * rank present and marks the others RouteReasonConflicted. Kinds of one rank never conflict (the two
   * HTTPRoute groups).
   */
  rank: number;
  /** Only one route of this kind (the oldest) is used per parent port; the others are ignored. */
  onePerPort: boolean;
  /** Linkerd's admission allows exactly one rule. */
  singleRule: boolean;
}

export interface KindEntry {
  /** API group; '' for the core group. */
  group: string;
  /** Every version the API server serves (the CRD's served versions). */
  versions: readonly string[];
  /** The version egressctl reads and writes, and that Linkerd watches. */
  version: string;
  kind: string;
  plural: string;
  singular: string;
  /** kubectl short names (`po`, `svc`, `deploy`). */
  shortNames: readonly string[];
  namespaced: boolean;
  /** Has a `/status` subresource. */
  status: boolean;
  /** A CustomResourceDefinition (from `crds/`), not a built-in kind. */
  crd: boolean;
  /** The policy engine reads it (`egress check`, `lint`, `get`, status). */
  policy: boolean;
  /** Owns pods: a `TYPE/NAME` target of `proxy-metrics` and `egress stat` (or is a Pod). */
  workload: boolean;
  /** Shown when the API server does not serve the kind: what to install ('' for built-ins). */
  install: string;
  route?: RouteFacts;
}

const LINKERD_CRDS = 'install the Linkerd 2.17+ CRDs (linkerd install --crds | kubectl apply -f -)';
const GATEWAY_STANDARD =
  'install the Gateway API CRDs (standard channel, v1.1.1 or later), or linkerd install --crds --set installGatewayAPI=true';
const GATEWAY_EXPERIMENTAL =
  'it comes only with the Gateway API experimental channel: install that channel (kubectl apply --server-side -f experimental-install.yaml), or linkerd install --crds --set installGatewayAPI=true';

const builtin = (
  group: string,
  kind: string,
  plural: string,
  shortNames: string[],
  o: { namespaced?: boolean; policy?: boolean; workload?: boolean } = {},
): KindEntry => ({
  group,
  versions: ['v1'],
  version: 'v1',
  kind,
  plural,
  singular: kind.toLowerCase(),
  shortNames,
  namespaced: o.namespaced ?? true,
  status: true,
  crd: false,
  policy: o.policy ?? false,
  workload: o.workload ?? false,
  install: '',
});

/** A namespaced CRD with a status subresource, named the usual way (`tlsroutes`, `tlsroute`). */
const crd = (
  group: string,
  versions: string[],
  version: string,
  kind: string,
  install: string,
  route?: RouteFacts,
): KindEntry => ({
  group,
  versions,
  version,
  kind,
  plural: `${kind.toLowerCase()}s`,
  singular: kind.toLowerCase(),
  shortNames: [],
  namespaced: true,
  status: true,
  crd: true,
  policy: true,
  workload: false,
  install,
  ...(route ? { route } : {}),
});

const GATEWAY = 'gateway.networking.k8s.io';
const POLICY = 'policy.linkerd.io';

/**
 * Every kind, in discovery order. Where two entries share a kind name (HTTPRoute), the first is the one a
 * bare kubectl-style name means: gateway.networking.k8s.io's, the one egressctl writes.
 */
export const KINDS: readonly KindEntry[] = [
  builtin('', 'Namespace', 'namespaces', ['ns'], { namespaced: false }),
  builtin('', 'Pod', 'pods', ['po'], { workload: true }),
  builtin('', 'Service', 'services', ['svc'], { policy: true }),
  builtin('', 'ReplicationController', 'replicationcontrollers', ['rc'], { workload: true }),
  builtin('apps', 'Deployment', 'deployments', ['deploy'], { workload: true }),
  builtin('apps', 'ReplicaSet', 'replicasets', ['rs'], { workload: true }),
  builtin('apps', 'StatefulSet', 'statefulsets', ['sts'], { workload: true }),
  builtin('apps', 'DaemonSet', 'daemonsets', ['ds'], { workload: true }),
  builtin('batch', 'Job', 'jobs', [], { workload: true }),
  builtin('batch', 'CronJob', 'cronjobs', ['cj'], { workload: true }),
  crd(POLICY, ['v1alpha1'], 'v1alpha1', 'EgressNetwork', LINKERD_CRDS),
  crd(GATEWAY, ['v1', 'v1beta1'], 'v1', 'HTTPRoute', GATEWAY_STANDARD, {
    protocol: 'http',
    rank: 1,
    onePerPort: false,
    singleRule: false,
  }),
  crd(GATEWAY, ['v1', 'v1alpha2'], 'v1', 'GRPCRoute', GATEWAY_STANDARD, {
    protocol: 'grpc',
    rank: 0,
    onePerPort: false,
    singleRule: false,
  }),
  crd(GATEWAY, ['v1alpha2'], 'v1alpha2', 'TLSRoute', GATEWAY_EXPERIMENTAL, {
    protocol: 'tls',
    rank: 2,
    onePerPort: false,
    singleRule: true,
  }),
  crd(GATEWAY, ['v1alpha2'], 'v1alpha2', 'TCPRoute', GATEWAY_EXPERIMENTAL, {
    protocol: 'tcp',
    rank: 3,
    onePerPort: true,
    singleRule: true,
  }),
  crd(POLICY, ['v1alpha1', 'v1beta1', 'v1beta2', 'v1beta3'], 'v1beta3', 'HTTPRoute', LINKERD_CRDS, {
    protocol: 'http',
    rank: 1,
    onePerPort: false,
    singleRule: false,
  }),
];

/** `group/version` as written in apiVersion (`v1` for the core group). */
export function apiVersionOfKind(k: KindEntry, version = k.version): string {
  return k.group ? `${k.group}/${version}` : version;
}

/** The group of an apiVersion (`''` for `v1`). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The entry for exactly this apiVersion (the version egressctl writes) and kind. */
export function kindFor(apiVersion: string, kind: string): KindEntry | undefined {
  return KINDS.find((k) => apiVersionOfKind(k) === apiVersion && k.kind === kind);
}

/** The entry for this kind in this apiVersion's group, whatever the version. */
export function kindInGroup(apiVersion: string, kind: string): KindEntry | undefined {
  const group = groupOf(apiVersion);
  return KINDS.find((k) => k.group === group && k.kind === kind);
}

/**
 * The entry a kubectl-style name means: kind, singular, plural or short name, optionally qualified by
 * its group (`tlsroute.gateway.networking.k8s.io`, `httproutes.policy.linkerd.io`). An unqualified name
 * prefers a CRD over a built-in, then the first in KINDS.
 */
export function kindByName(name: string, kinds: readonly KindEntry[] = KINDS): KindEntry | undefined {
  const n = name.toLowerCase();
  const bare = (k: KindEntry) =>
    [k.kind.toLowerCase(), k.singular, k.plural, ...k.shortNames].includes(n) ||
    (k.group !== '' && [k.singular, k.plural].some((s) => n === `${s}.${k.group}`));
  return kinds.find((k) => k.group !== '' && bare(k)) ?? kinds.find(bare);
}

/** A route kind's entry, with its route facts. */
export type RouteEntry = KindEntry & { route: RouteFacts };

export const isRouteEntry = (k: KindEntry | undefined): k is RouteEntry => k?.route !== undefined;

/** Every route kind entry (both HTTPRoute groups), in precedence order. */
export const ROUTE_ENTRIES: readonly RouteEntry[] = KINDS.filter(isRouteEntry).sort(
  (a, b) => a.route.rank - b.route.rank,
);

/** The route kind names, in precedence order, each once: GRPCRoute, HTTPRoute, TLSRoute, TCPRoute. */
export const ROUTE_KIND_NAMES: readonly string[] = [...new Set(ROUTE_ENTRIES.map((k) => k.kind))];

/** The route facts of an object, when it is a route kind Linkerd reads (by group and kind). */
export function routeOf(o: { apiVersion: string; kind: string }): RouteFacts | undefined {
  return kindInGroup(o.apiVersion, o.kind)?.route;
}

/** True when the object is a route kind Linkerd reads. */
export const isRouteObject = (o: { apiVersion: string; kind: string }): boolean => routeOf(o) !== undefined;

/** The precedence as text: `GRPCRoute > HTTPRoute > TLSRoute > TCPRoute`. */
export const precedenceText = (): string => ROUTE_KIND_NAMES.join(' > ');

/** The rank of a route kind name (the lowest among its groups), or undefined. */
export function rankOfKind(kind: string): number | undefined {
  return ROUTE_ENTRIES.find((k) => k.kind === kind)?.route.rank;
}

/** The route kind egressctl writes for a protocol (`egress route TYPE`, `egress allow URL`). */
export function routeKindForProtocol(protocol: RouteProtocol): RouteEntry {
  const e = ROUTE_ENTRIES.find((k) => k.route.protocol === protocol && k.group === GATEWAY);
  if (!e) throw new Error(`no route kind for protocol ${protocol} in the kinds registry`);
  return e;
}

/** The kinds `egress delete` takes, as kubectl-style names: `egressnetwork, httproute, ...`. */
export const deletableKindNames = (): string[] => [
  ...new Set(KINDS.filter((k) => k.crd).map((k) => k.singular)),
];

/**
 * The admission webhook's denial for a single-rule route kind with another number of rules: it names the
 * kind as its Rust type does (`TlsRoute supports a single rule only`; linkerd2
 * `policy-controller/runtime/src/admission.rs`).
 */
export function singleRuleDenial(kind: string): string {
  const stem = kind.replace(/Route$/, '');
  return `${stem.slice(0, 1)}${stem.slice(1).toLowerCase()}Route supports a single rule only`;
}

/**
 * Which versions of a Gateway API route kind each bundle serves, per release channel: a row holds from
 * its `since` bundle until the kind's next row. Sources: the CRDs in `crds/` (Linkerd's vendored bundle
 * v1.1.1, experimental; a test holds the two equal), the gateway-api release notes (v1.1.0 moves GRPCRoute
 * to v1 in the standard channel; v1.4.0 adds TLSRoute v1alpha3; v1.5.0 moves TLSRoute to v1 in the
 * standard channel, where v1alpha2 is no longer served), and the table in linkerd2 #15584 (the comment on
 * `TlsRouteApiVersion` in linkerd2 `policy-controller/k8s/api/src/lib.rs`).
 */
export interface BundleServing {
  kind: string;
  /** The first bundle (`vX.Y.Z`) this row describes. */
  since: string;
  standard: readonly string[];
  experimental: readonly string[];
}

export const GATEWAY_API_BUNDLES: readonly BundleServing[] = [
  { kind: 'HTTPRoute', since: 'v1.0.0', standard: ['v1', 'v1beta1'], experimental: ['v1', 'v1beta1'] },
  { kind: 'GRPCRoute', since: 'v1.1.0', standard: ['v1'], experimental: ['v1', 'v1alpha2'] },
  { kind: 'TLSRoute', since: 'v1.0.0', standard: [], experimental: ['v1alpha2'] },
  { kind: 'TLSRoute', since: 'v1.4.0', standard: [], experimental: ['v1alpha2', 'v1alpha3'] },
  { kind: 'TLSRoute', since: 'v1.5.0', standard: ['v1'], experimental: ['v1', 'v1alpha2', 'v1alpha3'] },
  { kind: 'TCPRoute', since: 'v1.0.0', standard: [], experimental: ['v1alpha2'] },
];

/** The annotation every Gateway API CRD carries with its bundle version (`v1.5.1`). */
export const BUNDLE_VERSION_ANNOTATION = 'gateway.networking.k8s.io/bundle-version';

/** `v1.5.1` (or `1.5.1`) as numbers; undefined when it is not a release version. */
export function parseBundleVersion(text: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Orders two bundle versions (`v1.4.0` < `v1.5.1`); unparsable versions sort first. */
export function compareBundleVersions(a: string, b: string): number {
  const x = parseBundleVersion(a) ?? [0, 0, 0];
  const y = parseBundleVersion(b) ?? [0, 0, 0];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * The versions of `kind` that bundle `bundle` serves in `channel`, or in either channel when none is
 * given; undefined for a kind the table does not know or a bundle older than its first row.
 */
export function bundleServes(
  kind: string,
  bundle: string,
  channel?: 'standard' | 'experimental',
): readonly string[] | undefined {
  const row = GATEWAY_API_BUNDLES.filter(
    (r) => r.kind === kind && compareBundleVersions(r.since, bundle) <= 0,
  ).at(-1);
  if (!row) return undefined;
  return channel ? row[channel] : [...new Set([...row.standard, ...row.experimental])];
}

/** The Gateway API group (`gateway.networking.k8s.io`). */
export const GATEWAY_GROUP = GATEWAY;
