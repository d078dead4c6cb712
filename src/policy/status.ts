import {
  parseCidr,
  parseNetworkCidr,
  unexceptedOverlaps,
  type Cidr,
  type NetworkBlock,
} from '../net/cidr.js';
import { routeConflicts } from './conflicts.js';
import {
  CONTROLLER,
  EGRESS_GROUP,
  egressParents,
  id,
  isRoute,
  ns,
  rules,
  type BackendRef,
  type Condition,
  type ParentRef,
  type PolicyObject,
} from './types.js';

/** An EgressNetwork's networks as blocks; `undefined` when it omits them (all off-cluster addresses). */
export function networkBlocks(n: PolicyObject): NetworkBlock[] | undefined {
  const nets = n.spec?.networks as { cidr: string; except?: string[] }[] | undefined;
  if (!Array.isArray(nets)) return undefined;
  const out: NetworkBlock[] = [];
  for (const x of nets) {
    try {
      // Host bits are ignored, as ipnet ignores them.
      out.push({
        cidr: parseNetworkCidr(x.cidr),
        except: (x.except ?? []).map((e) => parseNetworkCidr(e)),
      });
    } catch {
      // Admission rejects malformed CIDRs; an object that has one anyway captures nothing through it.
    }
  }
  return out;
}

/** The networks Linkerd uses when `networks` is omitted: everything off-cluster, per family. */
export function defaultBlocks(clusterNetworks: Cidr[]): NetworkBlock[] {
  return [parseCidr('0.0.0.0/0'), parseCidr('::/0')].map((cidr) => ({
    cidr,
    except: clusterNetworks.filter((c) => c.family === cidr.family),
  }));
}

/** EgressNetwork `Accepted`: False/EgressReasonNetworkOverlap when a network overlaps a cluster network not excepted. */
export function networkAccepted(n: PolicyObject, clusterNetworks: Cidr[]): Condition {
  const blocks = networkBlocks(n);
  const overlaps = (blocks ?? []).flatMap((b) => unexceptedOverlaps(b, clusterNetworks));
  if (overlaps.length) {
    return {
      type: 'Accepted',
      status: 'False',
      reason: 'EgressReasonNetworkOverlap',
      message: `networks overlap with clusterNetworks (${[...new Set(overlaps.map((c) => c.text))].join(', ')})`,
    };
  }
  return { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' };
}

export interface RouteParentStatus {
  parentRef: ParentRef & { namespace: string };
  accepted: Condition;
  resolvedRefs: Condition;
}

/**
 * What the policy controller writes for each route's EgressNetwork parentRefs (linkerd2
 * `policy-controller/k8s/status/src/index.rs`):
 * Accepted (True | False/NoMatchingParent | False/RouteReasonConflicted) and ResolvedRefs
 * (True | False/BackendNotFound | False/InvalidKind).
 */
export function routeStatuses(
  objects: PolicyObject[],
  clusterNetworks: Cidr[],
): Map<PolicyObject, RouteParentStatus[]> {
  const networks = objects.filter((o) => o.kind === 'EgressNetwork');
  const services = objects.filter((o) => o.kind === 'Service');
  const routes = objects.filter(isRoute);
  const netAccepted = new Map(
    networks.map((n) => [`${ns(n)}/${n.metadata.name}`, networkAccepted(n, clusterNetworks)]),
  );
  // Routes per parent+port, for GEP-1426 conflicts (the one rule, ./conflicts.ts).
  const onPorts = routes.flatMap((r) =>
    egressParents(r)
      .filter((p) => p.group === EGRESS_GROUP && p.port !== undefined)
      .map((p) => ({ kind: r.kind, port: `${p.namespace}/${p.name}:${p.port}` })),
  );
  const conflicted = new Map(
    [...routeConflicts(onPorts)].map(([x, v]) => [`${x.port} ${x.kind}`, v.conflictedBy]),
  );
  const out = new Map<PolicyObject, RouteParentStatus[]>();
  for (const r of routes) {
    const list: RouteParentStatus[] = [];
    for (const p of egressParents(r)) {
      if (p.group !== EGRESS_GROUP) continue;
      const key = `${p.namespace}/${p.name}`;
      let accepted: Condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' };
      const net = netAccepted.get(key);
      if (!net)
        accepted = {
          type: 'Accepted',
          status: 'False',
          reason: 'NoMatchingParent',
          message: `EgressNetwork ${key} not found`,
        };
      else if (net.status !== 'True')
        accepted = {
          type: 'Accepted',
          status: 'False',
          reason: 'NoMatchingParent',
          message: 'EgressNetwork parent has not been accepted',
        };
      else if (p.port === undefined)
        accepted = {
          type: 'Accepted',
          status: 'False',
          reason: 'NoMatchingParent',
          message: 'cannot target an EgressNetwork without specifying a port',
        };
      else {
        const winner = conflicted.get(`${key}:${p.port} ${r.kind}`);
        if (winner) {
          accepted = {
            type: 'Accepted',
            status: 'False',
            reason: 'RouteReasonConflicted',
            message: `conflicts with a ${winner} on the same EgressNetwork port`,
          };
        }
      }
      list.push({ parentRef: p, accepted, resolvedRefs: resolvedRefs(r, p, services) });
    }
    out.set(r, list);
  }
  return out;
}

function resolvedRefs(
  r: PolicyObject,
  parent: ParentRef & { namespace: string },
  services: PolicyObject[],
): Condition {
  for (const rule of rules(r)) {
    for (const b of (rule.backendRefs as BackendRef[] | undefined) ?? []) {
      const kind = b.kind ?? 'Service';
      const group = b.group ?? '';
      if (kind === 'EgressNetwork' && group === EGRESS_GROUP) {
        if (b.name !== parent.name || (b.namespace ?? ns(r)) !== parent.namespace) {
          return {
            type: 'ResolvedRefs',
            status: 'False',
            reason: 'InvalidKind',
            // The status controller's words (linkerd2 policy-controller/k8s/status/src/index.rs), even
            // when the parent is another EgressNetwork.
            message: 'EgressNetwork backend needs to be on a route that has an EgressNetwork parent',
          };
        }
        continue;
      }
      if (kind === 'Service' && (group === '' || group === 'core')) {
        if (b.port === undefined)
          return {
            type: 'ResolvedRefs',
            status: 'False',
            reason: 'InvalidKind',
            message: `missing port for backend Service ${b.name}`,
          };
        const svcNs = b.namespace ?? ns(r);
        if (!services.some((s) => s.metadata.name === b.name && ns(s) === svcNs)) {
          return {
            type: 'ResolvedRefs',
            status: 'False',
            reason: 'BackendNotFound',
            message: `Service not found ${svcNs}/${b.name}`,
          };
        }
        continue;
      }
      return {
        type: 'ResolvedRefs',
        status: 'False',
        reason: 'InvalidKind',
        message: `unsupported backend type ${group}/${kind}`,
      };
    }
  }
  return { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '' };
}

/** The policy controller's `status.parents` entry for this route, parent and port. */
export function controllerStatus(
  r: PolicyObject,
  p: ParentRef & { namespace: string },
): { conditions?: Condition[] } | undefined {
  const parents =
    (r.status?.parents as
      { parentRef?: ParentRef; controllerName?: string; conditions?: Condition[] }[] | undefined) ?? [];
  return parents.find(
    (s) =>
      s.controllerName === CONTROLLER &&
      s.parentRef?.kind === 'EgressNetwork' &&
      s.parentRef.name === p.name &&
      (s.parentRef.namespace ?? ns(r)) === p.namespace &&
      (s.parentRef.port === undefined || s.parentRef.port === p.port),
  );
}

/** Accepted for this route, parent and port, as written by the policy controller in status.parents. */
export function acceptedInStatus(
  r: PolicyObject,
  p: ParentRef & { namespace: string },
): Condition | undefined {
  return controllerStatus(r, p)?.conditions?.find((c) => c.type === 'Accepted');
}

/**
 * The `status` objects the policy controller would write, in Kubernetes shape, keyed by `Kind ns/name`:
 * `{conditions}` for EgressNetworks, `{parents}` for routes. The sandbox's simulated controller uses it.
 */
export function computeStatus(
  objects: PolicyObject[],
  o: { clusterNetworks: Cidr[]; now: string; generation?: (x: PolicyObject) => number },
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const gen = (x: PolicyObject) => o.generation?.(x) ?? (x.metadata.generation as number | undefined) ?? 1;
  const cond = (c: Condition, x: PolicyObject) => ({
    ...c,
    lastTransitionTime: o.now,
    observedGeneration: gen(x),
  });
  for (const n of objects.filter((x) => x.kind === 'EgressNetwork')) {
    out.set(id(n), { conditions: [cond(networkAccepted(n, o.clusterNetworks), n)] });
  }
  for (const [r, list] of routeStatuses(objects, o.clusterNetworks)) {
    const others = ((r.status?.parents as { controllerName?: string }[] | undefined) ?? []).filter(
      (p) => p.controllerName !== CONTROLLER,
    );
    out.set(id(r), {
      parents: [
        ...others,
        ...list.map((s) => ({
          parentRef: {
            group: EGRESS_GROUP,
            kind: 'EgressNetwork',
            namespace: s.parentRef.namespace,
            name: s.parentRef.name,
            ...(s.parentRef.port !== undefined ? { port: s.parentRef.port } : {}),
          },
          controllerName: CONTROLLER,
          conditions: [cond(s.accepted, r), cond(s.resolvedRefs, r)],
        })),
      ],
    });
  }
  return out;
}
