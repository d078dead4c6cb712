import { ApiError, type KubeClient } from './rest.js';
import {
  RESOURCES,
  apiVersionOf,
  isNotServed,
  resourcePath,
  type KubeObject,
  type ResourceType,
} from './resources.js';

/** Policy objects read from the cluster, and what could not be read. */
export interface LiveObjects {
  objects: KubeObject[];
  /** Kinds the cluster does not serve (a missing CRD), with what to install. */
  notServed: ResourceType[];
}

const POLICY_KINDS = RESOURCES.filter((r) => r.policy);

/**
 * Lists EgressNetworks, every route kind Linkerd reads (both HTTPRoute groups), and Services, in the
 * given namespaces or in all of them. A kind the cluster does not serve is reported, not fatal: a
 * cluster without TCPRoute simply has no TCPRoutes. List items get their kind and apiVersion back (the
 * API server leaves them off items).
 */
export async function fetchPolicyObjects(
  client: KubeClient,
  namespaces: string[] | 'all',
): Promise<LiveObjects> {
  const notServed: ResourceType[] = [];
  const lists = await Promise.all(
    POLICY_KINDS.map(async (r) => {
      const targets = namespaces === 'all' ? [undefined] : [...new Set(namespaces)];
      try {
        const pages = await Promise.all(
          targets.map((ns) =>
            client.get<{ items?: KubeObject[] }>(resourcePath(r, ns), {
              what: `list ${r.plural}.${r.group || 'core'} ${ns === undefined ? 'in all namespaces' : `in ${ns}`}`,
            }),
          ),
        );
        return pages.flatMap((p) =>
          (p.items ?? []).map((o) => ({ ...o, apiVersion: apiVersionOf(r), kind: r.kind })),
        );
      } catch (e) {
        if (isNotServed(e) || (e instanceof ApiError && e.code === 404 && r.group !== '')) {
          notServed.push(r);
          return [];
        }
        throw e;
      }
    }),
  );
  return { objects: lists.flat(), notServed };
}
