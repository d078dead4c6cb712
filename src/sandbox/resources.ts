import { KINDS, type KindEntry } from '../kinds.js';

/** The resource types the sandbox API server serves, as discovery describes them. */
export interface ServedResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Has a `/status` subresource. */
  status?: boolean;
  /** A CRD (switchable off, to test "CRD missing"). */
  crd?: boolean;
}

/** What the sandbox serves of one registry entry: the version egressctl writes. */
export function servedFrom(k: KindEntry): ServedResource {
  return {
    group: k.group,
    version: k.version,
    kind: k.kind,
    plural: k.plural,
    singular: k.singular,
    namespaced: k.namespaced,
    ...(k.shortNames.length ? { shortNames: [...k.shortNames] } : {}),
    ...(k.status ? { status: true } : {}),
    ...(k.crd ? { crd: true } : {}),
  };
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Every kind of the registry (src/kinds.ts), as discovery describes it. */
export const SERVED: ServedResource[] = KINDS.map(servedFrom);

/** The kinds the sandbox's policy controller reads: EgressNetworks, every route kind, Services. */
export const POLICY_SERVED: ServedResource[] = KINDS.filter((k) => k.policy).map(
  (k) => SERVED.find((r) => r.group === k.group && r.kind === k.kind) as ServedResource,
);

/** The APIResourceList entries for one group/version (main resources first, then subresources). */
export function resourceList(group: string, version: string, served: ServedResource[]): unknown {
  const rs = served.filter((r) => r.group === group && r.version === version);
  const main = rs.map((r) => ({
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: VERBS,
    ...(r.shortNames ? { shortNames: r.shortNames } : {}),
  }));
  const subs = rs.flatMap((r) => [
    ...(r.status
      ? [
          {
            name: `${r.plural}/status`,
            singularName: '',
            namespaced: r.namespaced,
            kind: r.kind,
            verbs: ['get', 'patch', 'update'],
          },
        ]
      : []),
    ...(r.kind === 'Pod'
      ? [
          {
            name: 'pods/portforward',
            singularName: '',
            namespaced: true,
            kind: 'PodPortForwardOptions',
            verbs: ['create', 'get'],
          },
        ]
      : []),
  ]);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: [...main, ...subs],
  };
}
