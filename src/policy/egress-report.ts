import { groupOf as groupOfApiVersion } from '../kinds.js';
import type { KubeObject } from '../kube/resources.js';
import { applicableNetworks, shadowingNamespaces } from './networks.js';
import { controllerStatus } from './status.js';
import { CONTROLLER, ROUTE_KINDS, egressParents } from './types.js';

/**
 * The `egress get` report: EgressNetworks joined with the routes attached to them, their controller
 * conditions, and the warnings about what Linkerd ignores or rejects. render/egress-get.ts formats it. Pure.
 */

/** A condition as the policy controller writes it. */
export interface ConditionView {
  status: string;
  reason?: string;
  message?: string;
}

/** A path match as Gateway API writes it (`type` defaulted to PathPrefix). Matching is by path segment. */
export interface PathMatchView {
  type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  value: string;
}

/** A header or query parameter match (`type` defaulted to Exact). */
export interface ValueMatchView {
  type: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

/** One `rules[].matches[]` entry: HTTPRoute's path/method/headers/queryParams, GRPCRoute's method. */
export interface MatchView {
  path?: PathMatchView;
  /** HTTP method (`GET`), or a gRPC service/method. */
  method?: string | { type: 'Exact' | 'RegularExpression'; service?: string; method?: string };
  headers?: ValueMatchView[];
  queryParams?: ValueMatchView[];
}

/**
 * A backend: a reference (`namespace` defaulted to the route's), or `{ original: true }` when the traffic
 * goes on to its original destination (no backendRefs, or a ref to the parent EgressNetwork itself).
 * A ref to another EgressNetwork is `invalid`: Linkerd does not resolve it.
 */
export type BackendView =
  | { original: true }
  | { kind: string; group: string; name: string; namespace: string; port: number | null; invalid?: true };

/** A network as EgressNetwork `spec.networks` writes it. */
export interface NetworkSpecView {
  cidr: string;
  except: string[];
}

export interface RouteView {
  kind: string;
  /** The route's API group (HTTPRoute exists in two). */
  group: string;
  namespace: string;
  name: string;
  port: number | undefined;
  /** `spec.hostnames`; empty: any host. */
  hostnames: string[];
  /** Every rule's matches, in order; empty: everything. */
  matches: MatchView[];
  backends: BackendView[];
  accepted: ConditionView | undefined;
  resolvedRefs: ConditionView | undefined;
}

export interface NetworkView {
  namespace: string;
  name: string;
  trafficPolicy: string;
  /**
   * `spec.networks`, or, when it is unset (`networksDefaulted`), what the policy controller uses instead:
   * every address outside the cluster's networks.
   */
  networks: NetworkSpecView[];
  networksDefaulted: boolean;
  accepted: ConditionView | undefined;
  routes: RouteView[];
}

/**
 * The stable `egress get -o json|yaml` document. schemaVersion 2 made networks, matches and backends
 * structured (version 1, which had no schemaVersion field, gave them as display strings).
 */
export interface EgressGetReport {
  apiVersion: 'egressctl.linkerd.io/v1';
  kind: 'EgressNetworkReport';
  schemaVersion: 2;
  items: NetworkView[];
  warnings: string[];
}

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

function condition(list: unknown, type: string): ConditionView | undefined {
  const c = (Array.isArray(list) ? (list as Condition[]) : []).find((x) => x.type === type);
  if (!c) return undefined;
  return {
    status: c.status ?? 'Unknown',
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  };
}

function toNetworks(
  spec: Record<string, unknown> | undefined,
  clusterNetworks: string[],
): { networks: NetworkSpecView[]; networksDefaulted: boolean } {
  const nets = spec?.networks as { cidr?: string; except?: string[] }[] | undefined;
  if (!nets) {
    // The controller's default: everything off-cluster, in both families.
    const except = (fam: 4 | 6) => clusterNetworks.filter((c) => c.includes(':') === (fam === 6));
    return {
      networks: [
        { cidr: '0.0.0.0/0', except: except(4) },
        { cidr: '::/0', except: except(6) },
      ],
      networksDefaulted: true,
    };
  }
  return {
    networks: nets.map((n) => ({ cidr: n.cidr ?? '', except: [...(n.except ?? [])] })),
    networksDefaulted: false,
  };
}

type RawValueMatch = { type?: string; name?: string; value?: string };
const valueMatches = (list: unknown): ValueMatchView[] | undefined => {
  const l = Array.isArray(list) ? (list as RawValueMatch[]) : [];
  if (l.length === 0) return undefined;
  return l.map((h) => ({
    type: h.type === 'RegularExpression' ? 'RegularExpression' : 'Exact',
    name: h.name ?? '',
    value: h.value ?? '',
  }));
};

function toMatches(r: Obj): MatchView[] {
  const out: MatchView[] = [];
  for (const rule of (r.spec?.rules as { matches?: Record<string, unknown>[] }[] | undefined) ?? []) {
    for (const m of rule.matches ?? []) {
      const view: MatchView = {};
      const path = m.path as { type?: string; value?: string } | undefined;
      if (path)
        view.path = {
          type: path.type === 'Exact' || path.type === 'RegularExpression' ? path.type : 'PathPrefix',
          value: path.value ?? '/',
        };
      const method = m.method as string | { type?: string; service?: string; method?: string } | undefined;
      if (typeof method === 'string') view.method = method;
      else if (method)
        view.method = {
          type: method.type === 'RegularExpression' ? 'RegularExpression' : 'Exact',
          ...(method.service ? { service: method.service } : {}),
          ...(method.method ? { method: method.method } : {}),
        };
      const headers = valueMatches(m.headers);
      if (headers) view.headers = headers;
      const query = valueMatches(m.queryParams);
      if (query) view.queryParams = query;
      out.push(view);
    }
  }
  return out;
}

function toBackends(r: Obj, parent: { namespace: string; name: string }): BackendView[] {
  const refs = ((r.spec?.rules as { backendRefs?: Record<string, unknown>[] }[] | undefined) ?? []).flatMap(
    (x) => x.backendRefs ?? [],
  );
  const ns = r.metadata.namespace ?? '';
  const out: BackendView[] = [];
  for (const b of refs) {
    const kind = typeof b.kind === 'string' ? b.kind : 'Service';
    const group = typeof b.group === 'string' ? b.group : kind === 'Service' ? '' : 'policy.linkerd.io';
    const namespace = typeof b.namespace === 'string' ? b.namespace : ns;
    const name = typeof b.name === 'string' ? b.name : '';
    if (kind === 'EgressNetwork' && name === parent.name && namespace === parent.namespace) {
      if (!out.some((x) => 'original' in x)) out.push({ original: true });
      continue;
    }
    out.push({
      kind,
      group,
      name,
      namespace,
      port: typeof b.port === 'number' ? b.port : null,
      ...(kind === 'EgressNetwork' ? { invalid: true as const } : {}),
    });
  }
  return out.length ? out : [{ original: true }];
}

/**
 * Joins EgressNetworks with the routes attached to them (parentRefs with group policy.linkerd.io and kind
 * EgressNetwork; the namespace defaults to the route's) and collects the warnings `egress get` prints.
 */
export function toEgressReport(
  objects: KubeObject[],
  o: { globalNamespace: string; clusterNetworks: string[] },
): EgressGetReport {
  const objs = objects as Obj[];
  const networks = objs.filter((x) => x.kind === 'EgressNetwork');
  const routes = objs.filter((x) => (ROUTE_KINDS as readonly string[]).includes(x.kind));
  const warnings: string[] = [];
  const items = networks.map((n): NetworkView => {
    const ns = n.metadata.namespace ?? '';
    const attached: RouteView[] = [];
    for (const r of routes) {
      const rns = r.metadata.namespace ?? '';
      for (const p of egressParents(r)) {
        if (p.name !== n.metadata.name || p.namespace !== ns) continue;
        const st = controllerStatus(r, p);
        const view: RouteView = {
          kind: r.kind,
          namespace: rns,
          name: r.metadata.name,
          group: groupOfApiVersion(r.apiVersion),
          port: p.port,
          hostnames: [...((r.spec?.hostnames as string[] | undefined) ?? [])],
          matches: toMatches(r),
          backends: toBackends(r, { namespace: ns, name: n.metadata.name }),
          accepted: condition(st?.conditions, 'Accepted'),
          resolvedRefs: condition(st?.conditions, 'ResolvedRefs'),
        };
        attached.push(view);
        const id = `${r.kind} ${rns}/${r.metadata.name}`;
        if (p.group !== 'policy.linkerd.io')
          warnings.push(
            `${id}: its parentRef to EgressNetwork ${ns}/${n.metadata.name} has no group policy.linkerd.io, so Linkerd ignores it`,
          );
        if (p.port === undefined)
          warnings.push(
            `${id}: its parentRef to EgressNetwork ${ns}/${n.metadata.name} has no port; Linkerd rejects it`,
          );
        if (!view.accepted)
          warnings.push(
            `${id} is not yet accepted by ${CONTROLLER} on port ${p.port ?? '?'}: it has no effect until then`,
          );
        else if (view.accepted.status !== 'True') {
          const why =
            view.accepted.reason === 'RouteReasonConflicted'
              ? 'it conflicts with another route type on the same port'
              : (view.accepted.message ?? '');
          warnings.push(
            `${id} is not accepted (${view.accepted.reason ?? 'no reason'}${why ? `: ${why}` : ''}): it has no effect`,
          );
        }
        if (view.resolvedRefs && view.resolvedRefs.status !== 'True') {
          warnings.push(
            `${id} has unresolved backends (${view.resolvedRefs.reason ?? ''}${view.resolvedRefs.message ? `: ${view.resolvedRefs.message}` : ''})`,
          );
        }
      }
    }
    attached.sort(
      (a, b) => (a.port ?? 0) - (b.port ?? 0) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
    );
    const accepted = condition(n.status?.conditions, 'Accepted');
    if (accepted && accepted.status !== 'True') {
      warnings.push(
        `EgressNetwork ${ns}/${n.metadata.name} is not accepted (${accepted.reason ?? ''}${accepted.message ? `: ${accepted.message}` : ''}): its routes are rejected`,
      );
    }
    return {
      namespace: ns,
      name: n.metadata.name,
      trafficPolicy: typeof n.spec?.trafficPolicy === 'string' ? n.spec.trafficPolicy : '',
      ...toNetworks(n.spec, o.clusterNetworks),
      accepted,
      routes: attached,
    };
  });
  for (const s of shadowingNamespaces(
    items,
    o.globalNamespace,
    (i) => i.namespace,
    (i) => i.name,
  )) {
    warnings.push(
      `namespace ${s.namespace} has its own EgressNetworks, which shadow ALL global ones in ${o.globalNamespace} for its clients (${s.shadowed.join(', ')} do not apply there)`,
    );
  }
  const conflicts = new Map<string, Set<string>>();
  for (const i of items) {
    for (const r of i.routes) {
      const key = `${i.namespace}/${i.name}:${r.port ?? '?'}`;
      conflicts.set(key, (conflicts.get(key) ?? new Set()).add(r.kind));
    }
  }
  for (const [key, kinds] of conflicts) {
    if (kinds.size > 1) {
      const order = ROUTE_KINDS.filter((k) => kinds.has(k));
      warnings.push(
        `EgressNetwork ${key} mixes ${order.join(', ')}: Linkerd uses ${order[0] ?? ''} and rejects the others (RouteReasonConflicted)`,
      );
    }
  }
  return {
    apiVersion: 'egressctl.linkerd.io/v1',
    kind: 'EgressNetworkReport',
    schemaVersion: 2,
    items,
    warnings,
  };
}

/**
 * The networks `egress get` lists: with `all`, every one; otherwise those that apply to clients in
 * `namespace` (its own, or else the global namespace's). With `name`, only that network.
 */
export function selectNetworks(
  items: NetworkView[],
  o: { namespace: string; globalNamespace: string; all: boolean; name: string | undefined },
): NetworkView[] {
  const scoped = o.all
    ? items
    : applicableNetworks(items, o.namespace, o.globalNamespace, (i) => i.namespace);
  return o.name === undefined ? scoped : scoped.filter((i) => i.name === o.name);
}
