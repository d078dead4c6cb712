import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode, UsageError } from '../errors.js';
import type { KubeClient } from '../kube/rest.js';
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
import { addFlowSourceFlags, toFlowSource, type FlowSource, type FlowSourceFlags } from './egress-plan.js';
import {
  DEFAULT_NETWORK,
  addClusterNetworksFlag,
  addEgressNamespaceFlag,
  withExamples,
  type CommandInput,
} from './flags.js';
import type { WriteOptions } from './write.js';

/** `egress learn`: least-privilege policy from the traffic seen, proven with `egress plan` first. */
export function command(): Command {
  const cmd = new Command('learn')
    .description(
      'Propose least-privilege egress policy from observed traffic: a Deny EgressNetwork per namespace and only the routes the flows seen need (proven with egress plan before it is printed)',
    )
    .argument(
      '[target]',
      'the pods whose traffic to learn from: TYPE/NAME (po, deploy, sts, ds, rs, rc, job, cj)',
    )
    .option('--current <dir>', 'read the current objects from files instead of the cluster')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--out <dir>', 'write one file per object into this directory (for GitOps) instead of printing')
    .option('--wildcards <n>', 'N or more sibling subdomains become *.domain (never over a public suffix)')
    .option('--include-denied', 'also allow the flows seen denied (they would open)')
    .option('--apply', 'server-side apply the proposal (as egress allow/deny/route do)')
    .option('--field-manager <name>', 'server-side apply field manager (with --apply)', 'egressctl')
    .option(
      '--force-conflicts',
      'with --apply: take over fields another field manager owns (without it, such conflicts are refused)',
    );
  addFlowSourceFlags(cmd, 'learn from');
  addEgressNamespaceFlag(cmd);
  addClusterNetworksFlag(cmd);
  return withExamples(
    cmd,
    `
  egressctl egress learn -n egress-test --interval 5m --out policy/
  egressctl egress plan -n egress-test -f policy/ --replace      # what the learned policy changes
  egressctl egress learn -n egress-test --interval 5m --apply    # then enforce it
  egressctl egress learn -A --since 7d --out policy/              # a week of traffic, from Prometheus
  egressctl egress learn --from-file ledger.json --current live/ --wildcards 3 -o json

Exit: 0 ok; 2 bad input; 3 cluster or partial, or a proposal that would break a flow it meant to keep.`,
  );
}

interface Flags extends FlowSourceFlags {
  current?: string;
  output: 'yaml' | 'json';
  out?: string;
  wildcards?: string;
  includeDenied?: boolean;
  apply?: boolean;
  fieldManager: string;
  forceConflicts?: boolean;
  egressNamespace: string;
  clusterNetworks: string;
}

export interface Options {
  global: GlobalOptions;
  flows: FlowSource;
  current: string | undefined;
  namespace: string | undefined;
  output: 'yaml' | 'json';
  out: string | undefined;
  wildcards: number | undefined;
  includeDenied: boolean;
  apply: boolean;
  fieldManager: string;
  force: boolean;
  egressNamespace: string;
  clusterNetworks: Cidr[];
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  const flows = toFlowSource(f, input.args[0]);
  let wildcards: number | undefined;
  if (f.wildcards !== undefined) {
    wildcards = Number(f.wildcards);
    if (!/^\d+$/.test(f.wildcards) || wildcards < 2)
      throw new UsageError(`--wildcards ${f.wildcards}: want a whole number of sibling hosts, 2 or more`);
  }
  if (f.apply && f.out !== undefined)
    throw new UsageError('--apply and --out are exclusive: apply, or write files');
  if (!f.apply && f.forceConflicts) throw new UsageError('--force-conflicts applies to --apply only');
  return {
    global: input.global,
    flows,
    current: f.current,
    namespace: namespaceFlag(f.namespace),
    output: f.output,
    out: f.out,
    wildcards,
    includeDenied: f.includeDenied === true,
    apply: f.apply === true,
    fieldManager: f.fieldManager,
    force: f.forceConflicts === true,
    egressNamespace: egressNamespaceFlag(f.egressNamespace),
    clusterNetworks: parseClusterNetworks(f.clusterNetworks),
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { loadManifestFiles } = await import('../policy/load.js');
  const { readFlows } = await import('./live-ledger.js');
  const { liveObjects, planNamespaces } = await import('./egress-plan.js');
  const { learnPolicy, proveLearned } = await import('../policy/learn.js');
  const currentFiles = o.current === undefined ? undefined : loadManifestFiles([o.current], deps.cwd).objects;
  const offline = o.flows.from === 'file' && currentFiles !== undefined && !o.apply;
  const namespace = await resolveNamespace(o.global, o.namespace, deps.env, { offline });
  let client: KubeClient | undefined;
  try {
    const connect = async () => (client ??= await deps.kube(connectSettings(o.global, namespace)));
    const { ledger, failed } = await readFlows(o.flows, namespace, connect, deps);
    if (failed.length)
      throw new ClusterError(
        `${failed.length} pod${failed.length === 1 ? '' : 's'} could not be read, so learning would miss their flows: ${failed[0]?.error ?? ''}`,
      );
    const current: PolicyObject[] =
      currentFiles ??
      (await liveObjects(
        await connect(),
        planNamespaces(
          ledger,
          [],
          namespace,
          o.egressNamespace,
          o.flows.from === 'pods' && o.flows.allNamespaces,
        ),
        deps,
      ));
    const learned = learnPolicy(ledger, current, {
      clusterNetworks: o.clusterNetworks,
      wildcards: o.wildcards,
      includeDenied: o.includeDenied,
      defaultNetwork: DEFAULT_NETWORK,
    });
    const unproven = proveLearned(ledger, current, learned, {
      clusterNetworks: o.clusterNetworks,
      globalNamespace: o.egressNamespace,
      currentAssumeAccepted: currentFiles !== undefined,
      namespace,
    });
    for (const u of unproven.filter((x) => x.unverifiable))
      deps.err.write(
        `warning: cannot prove flow ${u.flow.client.namespace}/${u.flow.client.workload.name} → ${u.flow.protocol} ${u.flow.destination || '?'} is kept: ${u.why}\n`,
      );
    const bugs = unproven.filter((x) => !x.unverifiable);
    const bad = bugs[0];
    if (bad)
      throw new ClusterError(
        `the learned policy would not keep flow ${bad.flow.client.namespace}/${bad.flow.client.workload.name} → ${bad.flow.protocol} ${bad.flow.destination || '?'} (port ${bad.flow.port ?? '?'}): ${bad.why}${bugs.length > 1 ? ` (and ${bugs.length - 1} more)` : ''}. This is a bug in egressctl learn: nothing was printed or applied; please report it with the ledger (egress stat -o ledger)`,
      );
    const { learnFormats, learnFileName, renderLearnFile, renderLeftOut } =
      await import('../render/learn.js');
    if (o.output === 'yaml' || o.out !== undefined || o.apply) {
      deps.err.write(renderLeftOut(learned.leftOut));
      for (const n of learned.notices) deps.err.write(`notice: ${n}\n`);
    }
    if (o.apply) {
      const { writeObjects } = await import('./write.js');
      const w: WriteOptions = {
        global: o.global,
        dryRun: 'none',
        output: undefined,
        diff: false,
        fieldManager: o.fieldManager,
        force: o.force,
        strict: false,
        plan: false,
        namespace: o.namespace,
        toGlobal: false,
        egressNamespace: o.egressNamespace,
      };
      return await writeObjects(learned.objects, w, namespace, deps);
    }
    if (o.out !== undefined) {
      const fs = await import('node:fs');
      const path = await import('node:path');
      const dir = path.resolve(deps.cwd, o.out);
      try {
        fs.mkdirSync(dir, { recursive: true });
        for (const m of learned.objects) {
          const file = path.join(dir, learnFileName(m, o.output));
          fs.writeFileSync(file, await renderLearnFile(m, o.output));
          deps.out.write(`${path.join(o.out, learnFileName(m, o.output))}\n`);
        }
      } catch (e) {
        throw new UsageError(`--out ${o.out}: cannot write there: ${(e as Error).message}`);
      }
      return ExitCode.Ok;
    }
    deps.out.write(await learnFormats[o.output](learned, { window: ledger.window }));
    return ExitCode.Ok;
  } finally {
    client?.close();
  }
}
