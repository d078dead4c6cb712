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
  /**
   * What was read (`read 3 objects from 2 files`) and warnings when that is nothing, for stderr: said
   * every time, so that an empty file or a mistyped -n never passes as "no problems". The command
   * prints them once it has a result, so that a failure stays one line.
   */
  read: string[];
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
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (o.files.length) {
    const { loadManifestFiles } = await import('../policy/load.js');
    const stdin = o.files.includes('-') ? await readStdin(deps) : undefined;
    const loaded = loadManifestFiles(o.files, deps.cwd, stdin);
    const files = loaded.files - (stdin === undefined ? 0 : 1);
    const from = [files ? plural(files, 'file') : '', stdin === undefined ? '' : 'standard input']
      .filter(Boolean)
      .join(' and ');
    const read = [`read ${plural(loaded.objects.length, 'object')} from ${from}`];
    if (!loaded.objects.length)
      read.push(
        `warning: no EgressNetwork, route or Service objects in ${o.files.map((f) => (f === '-' ? 'standard input' : f)).join(', ')}: nothing was checked`,
      );
    return {
      objects: loaded.objects,
      read,
      live: false,
      namespace: await resolveNamespace(o.global, o.namespace, deps.env, { offline: true }),
      clusterNetworks,
      globalNamespace,
    };
  }
  const { fetchLive } = await import('../kube/apply.js');
  const { fetchPolicyObjects } = await import('../kube/objects.js');
  const { apiVersionOf, notServedError, resourceByName } = await import('../kube/resources.js');
  const namespace = await resolveNamespace(o.global, o.namespace, deps.env);
  const client = await deps.kube(connectSettings(o.global, namespace)).catch((e: unknown) => {
    if (e instanceof UsageError && e.message.startsWith('no kubeconfig found')) {
      throw new UsageError(`${e.message}; to check manifests without a cluster, pass -f FILE|DIR`);
    }
    throw e;
  });
  try {
    const namespaces = scope.allNamespaces ? 'all' : [...new Set([namespace, globalNamespace])];
    const live = await fetchPolicyObjects(client, namespaces);
    const network = live.notServed.find((r) => r.kind === 'EgressNetwork');
    if (network) throw notServedError(network, undefined);
    for (const r of live.notServed)
      deps.err.write(
        `warning: the cluster does not serve ${r.kind} (${r.group}/${r.version}); none were read\n`,
      );
    const read = [
      `read ${plural(live.objects.length, 'object')} from ${namespaces === 'all' ? 'all namespaces' : `${namespaces.length === 1 ? 'namespace' : 'namespaces'} ${namespaces.join(', ')}`}`,
    ];
    // A mistyped -n lists nothing without an error: say so when nothing of it was read (objects in it
    // prove it exists; a 403 on namespaces proves nothing).
    if (namespaces !== 'all' && !live.objects.some((x) => x.metadata.namespace === namespace)) {
      const nsKind = resourceByName('namespace');
      const missing = nsKind
        ? await fetchLive(client, {
            apiVersion: apiVersionOf(nsKind),
            kind: nsKind.kind,
            metadata: { name: namespace },
          }).then(
            (x) => x === undefined,
            () => false,
          )
        : false;
      if (missing)
        read.push(
          `warning: namespace ${namespace} does not exist: nothing of it was read (check -n, or the kubeconfig context's namespace)`,
        );
      else if (!live.objects.length)
        read.push('warning: no EgressNetwork, route or Service objects were read: nothing was checked');
    }
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
      read,
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

/** `-f -`: standard input, as kubectl reads it. */
export async function readStdin(deps: Deps): Promise<string> {
  if (!deps.stdin) throw new UsageError('-f -: standard input is not available here');
  return deps.stdin();
}
