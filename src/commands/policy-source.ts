import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import { parseClusterNetworks } from '../manifests/validate.js';
import type { Cidr } from '../net/cidr.js';
import {
  connectSettings,
  egressNamespaceFlag,
  namespaceFlag,
  resolveNamespace,
  type GlobalOptions,
} from '../options/global.js';
import type { PolicyObject } from '../policy/types.js';

/** The flags `egress check` and `egress lint` share to say where the objects come from. */
export interface PolicySourceFlags {
  filename: string[];
  namespace?: string;
  egressNamespace: string;
  clusterNetworks: string;
}

/** Where `check` and `lint` read objects from, checked. */
export interface PolicySourceOptions {
  global: GlobalOptions;
  /** `-f` files and directories; none means the live cluster. */
  files: string[];
  namespace: string | undefined;
  egressNamespace: string;
  clusterNetworks: Cidr[];
}

/** Pure: the shared flags of `check` and `lint`. */
export function toPolicySourceOptions(f: PolicySourceFlags, global: GlobalOptions): PolicySourceOptions {
  return {
    global,
    files: f.filename,
    clusterNetworks: parseClusterNetworks(f.clusterNetworks),
    egressNamespace: egressNamespaceFlag(f.egressNamespace),
    namespace: namespaceFlag(f.namespace),
  };
}

export interface PolicySource {
  objects: PolicyObject[];
  live: boolean;
  namespace: string;
  clusterNetworks: Cidr[];
  globalNamespace: string;
  /** Live, when `bundleKinds` was asked: the Gateway API bundle version of each kind whose CRD was read. */
  gatewayApi?: Map<string, string>;
}

/**
 * The objects `egress check` and `egress lint` reason about: from `-f` files and directories (no
 * cluster needed), or live from the cluster (the namespace and the global egress namespace, or all).
 */
export async function loadPolicySource(
  o: PolicySourceOptions,
  deps: Deps,
  scope: { allNamespaces?: boolean; bundleKinds?: readonly string[] } = {},
): Promise<PolicySource> {
  const { clusterNetworks, egressNamespace: globalNamespace } = o;
  if (o.files.length) {
    const { loadManifestFiles } = await import('../policy/load.js');
    return {
      objects: loadManifestFiles(o.files, deps.cwd),
      live: false,
      namespace: await resolveNamespace(o.global, o.namespace, deps.env, { offline: true }),
      clusterNetworks,
      globalNamespace,
    };
  }
  const { fetchPolicyObjects } = await import('../kube/objects.js');
  const { notServedError } = await import('../kube/resources.js');
  const namespace = await resolveNamespace(o.global, o.namespace, deps.env);
  const client = await deps.kube(connectSettings(o.global, namespace)).catch((e: unknown) => {
    if (e instanceof UsageError && e.message.startsWith('no kubeconfig found')) {
      throw new UsageError(`${e.message}; to check manifests without a cluster, pass -f FILE|DIR`);
    }
    throw e;
  });
  try {
    const live = await fetchPolicyObjects(client, scope.allNamespaces ? 'all' : [namespace, globalNamespace]);
    const network = live.notServed.find((r) => r.kind === 'EgressNetwork');
    if (network) throw notServedError(network, undefined);
    for (const r of live.notServed)
      deps.err.write(
        `warning: the cluster does not serve ${r.kind} (${r.group}/${r.version}); none were read\n`,
      );
    // Only the CRDs of kinds that have objects: a cluster without TLSRoutes needs no TLSRoute bundle version.
    const kinds = (scope.bundleKinds ?? []).filter((k) => live.objects.some((x) => x.kind === k));
    let gatewayApi: Map<string, string> | undefined;
    if (kinds.length) {
      const { fetchBundleVersions } = await import('../kube/crds.js');
      const bundles = await fetchBundleVersions(client, kinds);
      for (const n of bundles.notes) deps.err.write(`${n}\n`);
      gatewayApi = bundles.versions;
    }
    return {
      objects: live.objects as unknown as PolicyObject[],
      live: true,
      namespace,
      clusterNetworks,
      globalNamespace,
      ...(gatewayApi ? { gatewayApi } : {}),
    };
  } finally {
    client.close();
  }
}
