import { toSelection, type Selection } from '../kube/resolve.js';

type WithoutNamespace<T> = T extends unknown ? Omit<T, 'namespace'> : never;

/** How pods are chosen (a target, a selector or all), before the namespace is resolved. */
export type PodChoice = WithoutNamespace<Selection>;

/**
 * Checks the target argument and `-l`/`--all` (exactly one way of choosing pods) without knowing the
 * namespace yet: `validate()` is pure, the namespace may come from the kubeconfig.
 */
export function toPodChoice(
  target: string | undefined,
  flags: { selector?: string | undefined; all?: boolean | undefined },
  allNamespaces: boolean,
): PodChoice {
  // '' stands in for "one namespace, resolved later"; undefined means all namespaces (-A).
  const { namespace: _, ...choice } = toSelection(target, flags, allNamespaces ? undefined : '');
  return choice;
}

/** The selection in the resolved namespace (undefined: all namespaces; never with a target, which toPodChoice refused). */
export function inNamespace(c: PodChoice, namespace: string | undefined): Selection {
  return c.by === 'target' ? { ...c, namespace: namespace ?? '' } : { ...c, namespace };
}
