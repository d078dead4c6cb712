import type { Deps } from '../deps.js';
import type { Manifest } from '../manifests/build.js';
import { parseClusterNetworks } from '../manifests/validate.js';
import { connectSettings } from '../options/global.js';
import type { PolicyObject } from '../policy/types.js';
import { DEFAULT_CLUSTER_NETWORKS } from './flags.js';
import type { WriteOptions } from './write.js';

/**
 * `--plan` on a writing command (`allow`, `deny`, `route`): the objects it would server-side apply,
 * replayed against the live traffic of the pods they govern (`egress plan`'s replay), printed, and
 * nothing applied. The traffic is the totals since each proxy started (no interval: the command is
 * about to act now); the pods are those of the target namespace, or of every namespace with --global
 * (a global network governs every namespace that has none of its own).
 */
export async function planWrite(
  objects: Manifest[],
  w: WriteOptions,
  namespace: string,
  deps: Deps,
): Promise<number> {
  const { liveLedger } = await import('./live-ledger.js');
  const { liveObjects, planNamespaces, planReport, printPlan } = await import('./egress-plan.js');
  const client = await deps.kube(connectSettings(w.global, namespace));
  try {
    const selection = { by: 'all' as const, namespace: w.toGlobal ? undefined : namespace };
    const { ledger, failed } = await liveLedger(
      client,
      selection,
      { concurrency: 16, timeoutMs: 30_000, podTimeoutMs: 10_000, intervalMs: 0 },
      deps,
    );
    const files = objects as unknown as PolicyObject[];
    const current = await liveObjects(
      client,
      planNamespaces(ledger, files, namespace, w.egressNamespace, w.toGlobal),
      deps,
    );
    const report = await planReport(ledger, current, files, {
      mode: 'server-side-apply',
      namespace,
      clusterNetworks: parseClusterNetworks(DEFAULT_CLUSTER_NETWORKS),
      globalNamespace: w.egressNamespace,
      currentAssumeAccepted: false,
    });
    return await printPlan(
      report,
      { output: w.output === 'json' ? 'json' : 'table', failOnBreak: false, failed },
      deps,
    );
  } finally {
    client.close();
  }
}
