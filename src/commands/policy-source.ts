import { optString, type RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { ClusterError, UsageError } from '../errors.js';
import { parseClusterNetworks, validateNamespace } from '../manifests/validate.js';
import type { Cidr } from '../net/cidr.js';
import type { PolicyObject } from '../policy/types.js';

export interface PolicySource {
  objects: PolicyObject[];
  live: boolean;
  namespace: string;
  clusterNetworks: Cidr[];
  globalNamespace: string;
}

/**
 * The objects `egress check` and `egress lint` reason about: from `-f` files and directories (no
 * cluster needed), or live from the cluster (the namespace and the global egress namespace, or all).
 */
export async function loadPolicySource(
  input: RawInput,
  deps: Deps,
  o: { allNamespaces?: boolean } = {},
): Promise<PolicySource> {
  const opts = input.opts;
  const files = (opts.filename as string[] | undefined) ?? [];
  const clusterNetworks = parseClusterNetworks(optString(opts, 'clusterNetworks', ''));
  const globalNamespace = validateNamespace(
    '--egress-namespace',
    optString(opts, 'egressNamespace', 'linkerd-egress'),
  );
  if (files.length) {
    const { loadManifestFiles } = await import('../policy/load.js');
    const namespace = validateNamespace('-n/--namespace', optString(opts, 'namespace', 'default'));
    return {
      objects: loadManifestFiles(files, deps.cwd),
      live: false,
      namespace,
      clusterNetworks,
      globalNamespace,
    };
  }
  const { connect } = await import('../kube/rest.js');
  const { fetchPolicyObjects } = await import('../kube/objects.js');
  const client = await connect(opts, deps.env).catch((e: unknown) => {
    if (e instanceof UsageError && e.message.startsWith('no kubeconfig found')) {
      throw new UsageError(`${e.message}; to check manifests without a cluster, pass -f FILE|DIR`);
    }
    throw e;
  });
  try {
    const namespace = client.namespace;
    const live = await fetchPolicyObjects(client, o.allNamespaces ? 'all' : [namespace, globalNamespace]);
    if (live.notServed.some((r) => r.kind === 'EgressNetwork')) {
      throw new ClusterError(
        'the cluster does not serve EgressNetwork (egressnetworks.policy.linkerd.io/v1alpha1): install the Linkerd 2.17+ CRDs (linkerd install --crds | kubectl apply -f -)',
      );
    }
    for (const r of live.notServed)
      deps.err.write(
        `warning: the cluster does not serve ${r.kind} (${r.group}/${r.version}); none were read\n`,
      );
    return {
      objects: live.objects as unknown as PolicyObject[],
      live: true,
      namespace,
      clusterNetworks,
      globalNamespace,
    };
  } finally {
    client.close();
  }
}
