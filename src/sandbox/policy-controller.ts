import type { Cidr } from '../net/cidr.js';
import { computeStatus } from '../policy/status.js';
import { POLICY_KINDS, policyObjects } from './policy-objects.js';
import { serverTime, type Store } from './store.js';

export interface PolicyController {
  /** Stops watching the store (a pending reconcile is dropped). */
  stop(): void;
}

/**
 * The policy controller: writes the status Linkerd's would (Accepted on EgressNetworks, per-parent
 * Accepted/ResolvedRefs on routes, from policy/status.ts computeStatus) on start and after every
 * burst of store changes, batched to one reconcile per turn of the event loop.
 */
export function startPolicyController(store: Store, o: { clusterNetworks: Cidr[] }): PolicyController {
  const reconcile = (): void => {
    const now = serverTime(Date.now());
    for (const [key, desired] of computeStatus(policyObjects(store), {
      clusterNetworks: o.clusterNetworks,
      now,
    })) {
      const [kind, rest] = key.split(' ') as [string, string];
      const [ns, name] = rest.split('/') as [string, string];
      for (const rt of POLICY_KINDS.filter((x) => x.kind === kind)) {
        const live = store.get(rt, ns, name);
        if (!live) continue;
        store.setStatus(rt, ns, name, keepTransitionTimes(live.status, desired));
      }
    }
  };
  let pending: NodeJS.Immediate | undefined;
  const onChange = (): void => {
    pending ??= setImmediate(() => {
      pending = undefined;
      reconcile();
    });
  };
  store.on('change', onChange);
  reconcile();
  return {
    stop() {
      if (pending) clearImmediate(pending);
      store.off('change', onChange);
    },
  };
}

/** Keeps lastTransitionTime when a condition's status did not change (as controllers do). */
function keepTransitionTimes(
  live: Record<string, unknown> | undefined,
  desired: Record<string, unknown>,
): Record<string, unknown> {
  type C = { type: string; status: string; lastTransitionTime?: string };
  const keep = (old: C[] | undefined, next: C[]) =>
    next.map((c) => {
      const prev = old?.find((x) => x.type === c.type);
      return prev && prev.status === c.status ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
    });
  if (Array.isArray(desired.conditions))
    return { ...desired, conditions: keep(live?.conditions as C[] | undefined, desired.conditions as C[]) };
  if (Array.isArray(desired.parents)) {
    const oldParents = (live?.parents as { parentRef?: unknown; conditions?: C[] }[] | undefined) ?? [];
    return {
      ...desired,
      parents: (desired.parents as { parentRef?: unknown; conditions?: C[] }[]).map((p) => {
        const prev = oldParents.find((x) => JSON.stringify(x.parentRef) === JSON.stringify(p.parentRef));
        return p.conditions ? { ...p, conditions: keep(prev?.conditions, p.conditions) } : p;
      }),
    };
  }
  return desired;
}
