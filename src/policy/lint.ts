import { unexceptedOverlaps, type Cidr } from '../net/cidr.js';
import {
  apiVersionOfKind,
  bundleServes,
  compareBundleVersions,
  GATEWAY_API_BUNDLES,
  GATEWAY_GROUP,
  kindInGroup,
  routeOf,
  singleRuleDenial,
} from '../kinds.js';
import { routeConflicts } from './conflicts.js';
import { acceptedInStatus, networkBlocks, routeStatuses } from './status.js';
import {
  CONTROLLER,
  EGRESS_GROUP,
  byAge,
  egressParents,
  id,
  isRoute,
  ns,
  parentRefs,
  rules,
  type BackendRef,
  type PolicyObject,
} from './types.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  rule: string;
  object: string;
  /** `file:line` for files. */
  location?: string;
  message: string;
}

/**
 * The route kinds whose lint rules depend on the Gateway API bundle installed (`gatewayApi` below): the
 * kinds whose CRD annotation live lint reads.
 */
export const BUNDLE_RULE_KINDS: readonly string[] = ['TLSRoute', 'TCPRoute'];

/** Since Gateway API v1.5.0 the CRDs require what Linkerd's Gateway API 1.5.1 types require. */
const BUNDLE_REQUIRING = 'v1.5.0';

/**
 * The TLSRoute version Linkerd's policy controller watches on a bundle: it probes v1, then v1alpha2, and
 * watches the first served (linkerd2 #15584, `TlsRouteApiVersion` in
 * `policy-controller/k8s/api/src/lib.rs`).
 */
const linkerdTlsRouteVersion = (bundle: string): string | undefined =>
  ['v1', 'v1alpha2'].find((v) => bundleServes('TLSRoute', bundle)?.includes(v));

/**
 * True when some Gateway API bundle serves this version of the kind (TLSRoute v1 from v1.5.0): the
 * bundle rules below judge those; a version no bundle serves (HTTPRoute v1alpha2) is refused everywhere.
 */
const servedByABundle = (kind: string, version: string): boolean =>
  GATEWAY_API_BUNDLES.some((b) => b.kind === kind && [...b.standard, ...b.experimental].includes(version));

/**
 * One line for stderr when there are routes whose rules need the bundle version and it is unknown
 * (files without `--gateway-api-version`, or a CRD lint could not read): those rules were not applied.
 */
export function bundleVersionNote(
  objects: PolicyObject[],
  gatewayApi: ReadonlyMap<string, string> | undefined,
): string | undefined {
  const kinds = BUNDLE_RULE_KINDS.filter(
    (k) => !gatewayApi?.has(k) && objects.some((x) => x.kind === k && isRoute(x)),
  );
  if (!kinds.length) return undefined;
  return `note: the Gateway API bundle version of ${kinds.join(', ')} is unknown: the rules that depend on it (tlsroute-hostnames-required, rule-backendrefs-required) were not applied; pass --gateway-api-version vX.Y.Z to apply them`;
}

/**
 * Mistakes Linkerd silently ignores or rejects. Each finding names the object, where it is, and what
 * Linkerd will do with it. Pure.
 *
 * `gatewayApi` maps a route kind to the Gateway API bundle version installed for it (`v1.5.1`, from the
 * CRD's `gateway.networking.k8s.io/bundle-version` annotation or `--gateway-api-version`). The rules that
 * depend on the bundle are applied only to kinds whose version is known.
 */
export function lint(
  objects: PolicyObject[],
  o: {
    clusterNetworks: Cidr[];
    globalNamespace: string;
    live: boolean;
    gatewayApi?: ReadonlyMap<string, string> | undefined;
  },
): Finding[] {
  const out: Finding[] = [];
  const add = (severity: Severity, rule: string, obj: PolicyObject, message: string) =>
    out.push({ severity, rule, object: id(obj), ...(obj.source ? { location: obj.source } : {}), message });
  for (const x of objects) {
    const entry = kindInGroup(x.apiVersion, x.kind);
    const version = x.apiVersion.slice(x.apiVersion.lastIndexOf('/') + 1);
    if (entry && !entry.versions.includes(version) && !servedByABundle(x.kind, version))
      add(
        'error',
        'version-not-served',
        x,
        `${x.kind} ${x.apiVersion} is not served by Linkerd's CRDs: use ${entry.version} (apiVersion: ${apiVersionOfKind(entry)}); the API server refuses it (kubectl: no matches for kind "${x.kind}" in version "${x.apiVersion}")`,
      );
  }
  const networks = objects.filter((x) => x.kind === 'EgressNetwork');
  const routes = objects.filter(isRoute).sort(byAge);
  const services = objects.filter((x) => x.kind === 'Service');

  for (const n of networks) {
    for (const b of networkBlocks(n) ?? []) {
      const overlaps = unexceptedOverlaps(b, o.clusterNetworks);
      if (overlaps.length) {
        add(
          'error',
          'network-overlap',
          n,
          `network ${b.cidr.text} overlaps the cluster networks ${overlaps.map((c) => c.text).join(', ')} without excepting them: Linkerd marks it Accepted=False (EgressReasonNetworkOverlap) and rejects its routes`,
        );
      }
    }
    if (ns(n) !== o.globalNamespace && networks.some((g) => ns(g) === o.globalNamespace)) {
      add(
        'warning',
        'shadows-global',
        n,
        `a namespace-local EgressNetwork shadows ALL global ones in ${o.globalNamespace} for clients in ${ns(n)}, even for destinations it does not cover`,
      );
    }
  }

  const onPort = new Map<string, PolicyObject[]>();
  for (const r of routes) {
    for (const p of parentRefs(r).filter((x) => x.kind === 'EgressNetwork')) {
      const pns = p.namespace ?? ns(r);
      if (p.group !== EGRESS_GROUP)
        add(
          'error',
          'parentref-group',
          r,
          `parentRef to EgressNetwork ${pns}/${p.name} has no group: policy.linkerd.io, so Linkerd does not treat it as an egress route`,
        );
      if (p.port === undefined)
        add(
          'error',
          'parentref-port',
          r,
          `parentRef to EgressNetwork ${pns}/${p.name} has no port: admission rejects it ("cannot target an EgressNetwork without specifying a port")`,
        );
      const net = networks.find((n) => n.metadata.name === p.name && ns(n) === pns);
      if (!net)
        add(
          'error',
          'parent-missing',
          r,
          `parentRef names EgressNetwork ${pns}/${p.name}, which does not exist: the route is NoMatchingParent`,
        );
      if (p.port !== undefined) {
        const key = `${pns}/${p.name}:${p.port}`;
        onPort.set(key, [...(onPort.get(key) ?? []), r]);
      }
      if (
        routeOf(r)?.protocol === 'tls' &&
        !((r.spec?.hostnames as string[] | undefined) ?? []).length &&
        net?.spec?.trafficPolicy === 'Deny'
      ) {
        add(
          'warning',
          'tls-no-hostnames',
          r,
          `a ${r.kind} without hostnames on a Deny network lets every TLS destination on port ${p.port ?? '?'} through`,
        );
      }
    }
    if (routeOf(r)?.singleRule && rules(r).length !== 1) {
      add(
        'error',
        'single-rule',
        r,
        `${r.kind} must have exactly one rule (Linkerd's admission: "${singleRuleDenial(r.kind)}")`,
      );
    }
    for (const rule of rules(r)) {
      for (const b of (rule.backendRefs as BackendRef[] | undefined) ?? []) {
        const kind = b.kind ?? 'Service';
        if (kind === 'EgressNetwork') {
          const parent = egressParents(r)[0];
          if (parent && (b.name !== parent.name || (b.namespace ?? ns(r)) !== parent.namespace)) {
            add(
              'error',
              'backend-other-network',
              r,
              `backend EgressNetwork ${b.namespace ?? ns(r)}/${b.name} is not the route's parent: ResolvedRefs=False (InvalidKind)`,
            );
          }
        } else if (kind === 'Service' && (b.group ?? '') === '') {
          if (b.port === undefined)
            add(
              'error',
              'backend-service-port',
              r,
              `backend Service ${b.name} has no port: Linkerd rejects it ("missing port for backend Service")`,
            );
          else if (!services.some((s) => s.metadata.name === b.name && ns(s) === (b.namespace ?? ns(r)))) {
            add(
              o.live ? 'error' : 'warning',
              'backend-missing',
              r,
              `backend Service ${b.namespace ?? ns(r)}/${b.name} is not ${o.live ? 'in the cluster' : 'in these files'}: requests would get HTTP 500 "Service not found" (BackendNotFound)`,
            );
          }
        }
      }
      for (const f of (rule.filters as
        { type?: string; requestMirror?: Record<string, unknown> }[] | undefined) ?? []) {
        if (f.type === 'CORS' || f.type === 'ExternalAuth')
          add(
            'error',
            'gateway-api-too-new',
            r,
            `filter type ${f.type} is newer than Gateway API v1.2.1: Linkerd ignores routes that use it`,
          );
        if (f.requestMirror && ('percent' in f.requestMirror || 'fraction' in f.requestMirror))
          add(
            'error',
            'gateway-api-too-new',
            r,
            'requestMirror.percent/fraction is newer than Gateway API v1.2.1: Linkerd ignores routes that use it',
          );
      }
    }
    const served = kindInGroup(r.apiVersion, r.kind);
    const bundle = served?.group === GATEWAY_GROUP ? o.gatewayApi?.get(r.kind) : undefined;
    if (r.kind === 'TLSRoute' && served && r.apiVersion === apiVersionOfKind(served, 'v1')) {
      // Linkerd watches TLSRoute v1 where the bundle serves it (linkerd2 #15584): only older bundles refuse it.
      if (!bundle)
        add(
          'error',
          'gateway-api-too-new',
          r,
          `TLSRoute ${r.apiVersion} is only served by Gateway API >= 1.5; Linkerd reads TLSRoute ${served.version}`,
        );
      else if (!bundleServes('TLSRoute', bundle)?.includes('v1'))
        add(
          'error',
          'gateway-api-too-new',
          r,
          `TLSRoute ${r.apiVersion} is not served by the installed Gateway API ${bundle} (only from v1.5.0): write ${apiVersionOfKind(served)}`,
        );
    }
    if (
      bundle &&
      r.kind === 'TLSRoute' &&
      r.spec?.hostnames == null &&
      linkerdTlsRouteVersion(bundle) === 'v1'
    ) {
      add(
        'error',
        'tlsroute-hostnames-required',
        r,
        `no spec.hostnames: on Gateway API ${bundle} Linkerd watches TLSRoute v1, whose types require hostnames, so the policy controller cannot read this route and skips it (linkerd2 policy-controller/k8s/api/src/lib.rs, deserialize_v1alpha2_spec; gateway-api-rs gateway-api/src/apis/experimental/tlsroutes.rs); fix: list the SNI names in spec.hostnames`,
      );
    }
    if (bundle && BUNDLE_RULE_KINDS.includes(r.kind)) {
      rules(r).forEach((rule, i) => {
        if (rule.backendRefs != null) return;
        const admitted = compareBundleVersions(bundle, BUNDLE_REQUIRING) < 0;
        const types = `Linkerd's policy controller reads ${r.kind} with Gateway API 1.5.1 types that require backendRefs (linkerd2 #15567: policy-controller/k8s/api/src/lib.rs uses gateway-api-rs gateway-api/src/apis/experimental/${r.kind.toLowerCase()}s.rs)`;
        add(
          'error',
          'rule-backendrefs-required',
          r,
          `rule ${i + 1} has no backendRefs: ${
            admitted
              ? `Gateway API ${bundle}'s CRD admits it, but ${types} and skips the route`
              : `Gateway API ${bundle}'s CRD requires them, so the API server rejects the route; one stored before the CRD upgrade is skipped: ${types}`
          }; fix: add backendRefs, e.g. the parent EgressNetwork to go on to the original destination`,
        );
      });
    }
  }

  const onPorts = [...onPort].flatMap(([key, rs]) => rs.map((r) => ({ kind: r.kind, port: key, r })));
  for (const [x, v] of routeConflicts(onPorts)) {
    if (v.conflictedBy)
      add(
        'error',
        'mixed-route-types',
        x.r,
        `EgressNetwork ${x.port} mixes ${v.kindsOnPort.join(', ')}: Linkerd uses ${v.conflictedBy} and rejects this ${x.kind} (RouteReasonConflicted)`,
      );
  }
  for (const [x, v] of routeConflicts(onPorts)) {
    const first = v.ignoredFor;
    if (first)
      add(
        'error',
        `second-${x.kind.toLowerCase()}`,
        x.r,
        `EgressNetwork ${x.port} already has ${x.kind} ${ns(first.r)}/${first.r.metadata.name} (older): Linkerd uses only one ${x.kind} per port and ignores this one`,
      );
  }

  if (o.live) {
    for (const [r, list] of routeStatuses(objects, o.clusterNetworks)) {
      for (const s of list) {
        const c = acceptedInStatus(r, s.parentRef);
        if (!c)
          add(
            'warning',
            'not-accepted',
            r,
            `no Accepted status from ${CONTROLLER} for EgressNetwork ${s.parentRef.namespace}/${s.parentRef.name} port ${s.parentRef.port ?? '?'}: the route has no effect until it is accepted (is the policy controller running?)`,
          );
        else if (c.status !== 'True')
          add(
            'error',
            'not-accepted',
            r,
            `not accepted on EgressNetwork ${s.parentRef.namespace}/${s.parentRef.name} port ${s.parentRef.port ?? '?'}: ${c.reason}${c.message ? ` (${c.message})` : ''}`,
          );
      }
    }
  }
  const rank = { error: 0, warning: 1, info: 2 };
  return out.sort(
    (a, b) =>
      rank[a.severity] - rank[b.severity] ||
      (a.location ?? a.object).localeCompare(b.location ?? b.object, undefined, { numeric: true }),
  );
}
