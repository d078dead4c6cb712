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

/**
 * Every kind of the registry (src/kinds.ts), as discovery describes it, and ConfigMaps: egressctl itself
 * never lists them, but `egressctl version` reads Linkerd's version from the `linkerd-config` one, as
 * `linkerd version` does.
 */
const CONFIG_MAP: ServedResource = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
};
export const SERVED: ServedResource[] = [...KINDS.map(servedFrom), CONFIG_MAP];

/**
 * Every version of every kind the API server serves (a CRD's served versions, src/kinds.ts `versions`).
 * Linkerd's and Gateway API's CRDs say `conversion: None` with one schema per version, so conversion is
 * identity: the store keeps one object per kind (`storageOf`) and a read answers in the version asked for.
 */
export const SERVED_VERSIONS: ServedResource[] = KINDS.flatMap((k) =>
  [k.version, ...k.versions.filter((v) => v !== k.version)].map((version) => ({
    ...servedFrom(k),
    version,
  })),
).concat(CONFIG_MAP);

/** The entry the store keeps objects of `r` under (same group and kind, the storage version). */
export function storageOf(r: ServedResource): ServedResource {
  return SERVED.find((x) => x.group === r.group && x.kind === r.kind) ?? r;
}

/**
 * Kubernetes' version priority (apimachinery `version.CompareKubeAwareVersionStrings`): GA before beta
 * before alpha, higher numbers first; what orders an APIGroup's versions, the first being preferred.
 */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(beta|alpha)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    return [m[2] === 'beta' ? 1 : m[2] === 'alpha' ? 2 : 0, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  const [x, y] = [rank(a), rank(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || a.localeCompare(b);
}

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
