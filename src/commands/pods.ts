import { adminPorts, toSelection, type Pod, type Selection } from '../kube/resolve.js';
import { parseLabelSelector } from '../net/selector.js';

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
  // Checked here with Kubernetes' grammar, so a bad selector is a usage error before any API call.
  if (choice.by === 'selector') parseLabelSelector(choice.selector);
  return choice;
}

/** The selection in the resolved namespace (undefined: all namespaces; never with a target, which toPodChoice refused). */
export function inNamespace(c: PodChoice, namespace: string | undefined): Selection {
  return c.by === 'target' ? { ...c, namespace: namespace ?? '' } : { ...c, namespace };
}

/** The pods a scrape reads, and those it counts as unmeshed (`namespace/name`) instead of failing on. */
export interface MeshedSplit {
  meshed: Pod[];
  unmeshed: string[];
}

/**
 * Pods without a linkerd-admin port are not meshed. Over a namespace or a selector they are counted as
 * unmeshed, as `linkerd viz stat` counts them (its MESHED column), not scraped and never a failure. A
 * named target (po/NAME, or a workload none of whose pods is injected) is kept whole, so that scraping
 * it fails with the pod's own "is it injected?" error.
 */
export function splitMeshed(pods: Pod[], s: Selection): MeshedSplit {
  const meshed = pods.filter((p) => adminPorts(p).length > 0);
  if (s.by === 'target' && meshed.length === 0) return { meshed: pods, unmeshed: [] };
  return {
    meshed,
    unmeshed: pods
      .filter((p) => adminPorts(p).length === 0)
      .map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
  };
}

/** `1 of 5 pods is not meshed (no linkerd-admin port): egress-test/legacy`, for a `note:` line. */
export function unmeshedNotice(unmeshed: string[], total: number): string | undefined {
  if (!unmeshed.length) return undefined;
  const shown = unmeshed.slice(0, 5).join(', ');
  const more = unmeshed.length > 5 ? ` (and ${unmeshed.length - 5} more)` : '';
  return `${unmeshed.length} of ${total} pods ${unmeshed.length === 1 ? 'is' : 'are'} not meshed (no linkerd-admin port): ${shown}${more}`;
}
