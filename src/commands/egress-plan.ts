import { Command, Option } from 'commander';
import { useColor, type Deps } from '../deps.js';
import { ExitCode, UsageError } from '../errors.js';
import type { KubeClient } from '../kube/rest.js';
import { parseClusterNetworks } from '../manifests/validate.js';
import type { EgressLedger } from '../metrics/ledger.js';
import type { Cidr } from '../net/cidr.js';
import { parseDuration } from '../options/duration.js';
import {
  connectSettings,
  egressNamespaceFlag,
  namespaceFlag,
  resolveNamespace,
  type GlobalOptions,
} from '../options/global.js';
import type { PlanReport } from '../policy/plan.js';
import type { PolicyObject } from '../policy/types.js';
import {
  addPrometheusFlags,
  validatePrometheusFlags,
  type PrometheusFlags,
  type PrometheusOptions,
} from '../prometheus/flags.js';
import {
  addAllNamespacesFlag,
  addClusterNetworksFlag,
  addEgressNamespaceFlag,
  addFilenameFlag,
  addNamespaceFlag,
  addTimeoutFlag,
  withExamples,
  type CommandInput,
} from './flags.js';
import { toPodChoice, type PodChoice } from './pods.js';

/** `egress plan -f FILES`: what the proposed objects would do to the traffic seen, before they ship. */
export function command(): Command {
  const cmd = new Command('plan')
    .description(
      'Replay observed egress flows against the current and the proposed objects: what would break, open, reroute, and what cannot be judged',
    )
    .argument(
      '[target]',
      'the pods whose traffic to replay: TYPE/NAME (po, deploy, sts, ds, rs, rc, job, cj)',
    );
  addFilenameFlag(cmd, 'the proposed objects: files or directories (repeatable)');
  cmd
    .option(
      '--replace',
      'the files are the whole policy of each namespace they name (else they are applied over the current objects, as kubectl apply does)',
    )
    .option('--current <dir>', 'read the current objects from files instead of the cluster')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option('--fail-on-break', 'exit 1 when any flow would break (uncertain flows do not count)');
  addFlowSourceFlags(cmd, 'replay');
  addEgressNamespaceFlag(cmd);
  addClusterNetworksFlag(cmd);
  return withExamples(
    cmd,
    `
  egressctl egress plan -n egress-test -f policy/ --interval 30s
  egressctl egress plan -n egress-test -f policy/ --replace --fail-on-break   # CI gate
  egressctl egress plan -A -f policy/ --replace --since 1d                    # a day of traffic, from Prometheus
  egressctl egress plan -f policy/ --from-file ledger.json --current live/ -o json

Exit: 0 when no flow would break; 1 with --fail-on-break when one would; 2 bad input; 3 cluster or partial.`,
  );
}

interface Flags extends FlowSourceFlags {
  filename: string[];
  replace?: boolean;
  current?: string;
  output: 'table' | 'json';
  failOnBreak?: boolean;
  egressNamespace: string;
  clusterNetworks: string;
}

/** Where the flows come from: a ledger file, or the pods (as `egress stat` chooses them). */
export type FlowSource =
  | { from: 'file'; file: string }
  | {
      from: 'pods';
      pods: PodChoice;
      allNamespaces: boolean;
      intervalMs: number;
      /** Whether Prometheus answers instead (`prometheus/source.ts` chooseSource has the rule). */
      prometheus: PrometheusOptions;
      /** `--timeout`: the command's deadline, which a Prometheus query gets too. */
      timeoutMs: number;
    };

export interface Options {
  global: GlobalOptions;
  files: string[];
  replace: boolean;
  flows: FlowSource;
  current: string | undefined;
  namespace: string | undefined;
  output: Flags['output'];
  failOnBreak: boolean;
  egressNamespace: string;
  clusterNetworks: Cidr[];
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  if (!f.filename.length) throw new UsageError('give the proposed objects with -f FILE|DIR');
  const flows = toFlowSource(f, input.args[0]);
  return {
    global: input.global,
    files: f.filename,
    replace: f.replace === true,
    flows,
    current: f.current,
    namespace: namespaceFlag(f.namespace),
    output: f.output,
    failOnBreak: f.failOnBreak === true,
    egressNamespace: egressNamespaceFlag(f.egressNamespace),
    clusterNetworks: parseClusterNetworks(f.clusterNetworks),
  };
}

/** The flags that choose where flows come from (`plan`, `learn`). */
export interface FlowSourceFlags extends PrometheusFlags {
  fromFile?: string;
  selector?: string;
  all?: boolean;
  interval: string;
  timeout: string;
  namespace?: string;
  allNamespaces?: boolean;
}

/**
 * The flags that choose where flows come from, for `plan` and `learn` (`verb`: what the command does
 * with them, for the help); `toFlowSource` reads them back.
 */
export function addFlowSourceFlags(cmd: Command, verb: string): Command {
  cmd
    .option(
      '--from-file <ledger>',
      `${verb} the flows of a ledger file (EgressLedger JSON) instead of scraping pods`,
    )
    .option('-l, --selector <selector>', 'pods matching a label selector')
    .option('--all', 'every pod in the namespace (the default when no target is given)')
    .option(
      '--interval <duration>',
      `scrape twice this far apart and ${verb} what moved, with rates (0: totals)`,
      '0',
    );
  addPrometheusFlags(cmd);
  // Prometheus' own query timeout is 2m: a week of a large cluster's traffic can take most of it.
  addTimeoutFlag(cmd, '2m');
  addNamespaceFlag(cmd);
  return addAllNamespacesFlag(cmd);
}

/** Checks the flow-source flags: a ledger file, or pods as `egress stat` chooses them. Pure. */
export function toFlowSource(f: FlowSourceFlags, target: string | undefined): FlowSource {
  const all = f.allNamespaces === true;
  if (all && f.namespace !== undefined)
    throw new UsageError('-A and -n are exclusive: choose all namespaces or one');
  const intervalMs = parseDuration(f.interval, '--interval');
  if (intervalMs > 0 && intervalMs < 1000)
    throw new UsageError(`--interval ${f.interval} is too short: use 1s or more`);
  const prometheus = validatePrometheusFlags(f);
  let flows: FlowSource;
  if (f.fromFile !== undefined) {
    const clash = [
      target !== undefined && target,
      f.selector !== undefined && '-l',
      f.all && '--all',
      all && '-A',
      intervalMs > 0 && '--interval',
      prometheus.url !== undefined && '--prometheus',
      prometheus.sinceSeconds !== undefined && '--since',
      prometheus.source !== 'auto' && '--source',
    ].filter(Boolean);
    if (clash.length)
      throw new UsageError(`--from-file reads the flows from the ledger: drop ${clash.join(', ')}`);
    flows = { from: 'file', file: f.fromFile };
  } else {
    const chosen = target !== undefined || f.selector !== undefined || f.all === true;
    flows = {
      from: 'pods',
      pods: toPodChoice(target, chosen ? f : { ...f, all: true }, all),
      allNamespaces: all,
      intervalMs,
      prometheus,
      timeoutMs: parseDuration(f.timeout, '--timeout'),
    };
  }
  return flows;
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { loadManifestFiles } = await import('../policy/load.js');
  const { readFlows } = await import('./live-ledger.js');
  // Files first: bad input is exit 2 before any cluster is contacted.
  const { readStdin } = await import('./policy-source.js');
  // `-f -` is standard input, as for lint and check.
  const stdin = o.files.includes('-') ? await readStdin(deps) : undefined;
  const files = loadManifestFiles(o.files, deps.cwd, stdin).objects;
  const currentFiles = o.current === undefined ? undefined : loadManifestFiles([o.current], deps.cwd).objects;
  const offline = o.flows.from === 'file' && currentFiles !== undefined;
  const namespace = await resolveNamespace(o.global, o.namespace, deps.env, { offline });
  let client: KubeClient | undefined;
  try {
    const connect = async () => (client ??= await deps.kube(connectSettings(o.global, namespace)));
    const { ledger, failed } = await readFlows(o.flows, namespace, connect, deps);
    const current =
      currentFiles ??
      (await liveObjects(
        await connect(),
        planNamespaces(
          ledger,
          files,
          namespace,
          o.egressNamespace,
          o.flows.from === 'pods' && o.flows.allNamespaces,
        ),
        deps,
      ));
    const report = await planReport(ledger, current, files, {
      mode: o.replace ? 'replace' : 'apply',
      namespace,
      clusterNetworks: o.clusterNetworks,
      globalNamespace: o.egressNamespace,
      currentAssumeAccepted: currentFiles !== undefined,
    });
    return printPlan(report, { output: o.output, failOnBreak: o.failOnBreak, failed }, deps);
  } finally {
    client?.close();
  }
}

/** The namespaces whose objects decide the flows: each client's, the global one, and the files'. */
export function planNamespaces(
  ledger: EgressLedger,
  files: PolicyObject[],
  namespace: string,
  globalNamespace: string,
  all: boolean,
): string[] | 'all' {
  if (all) return 'all';
  return [
    ...new Set([
      namespace,
      globalNamespace,
      ...ledger.flows.map((f) => f.client.namespace),
      ...files.map((f) => f.metadata.namespace ?? namespace),
    ]),
  ].sort();
}

/** The live policy objects (EgressNetworks, routes, Services); a kind the cluster lacks is a warning. */
export async function liveObjects(
  client: KubeClient,
  namespaces: string[] | 'all',
  deps: Deps,
): Promise<PolicyObject[]> {
  const { fetchPolicyObjects } = await import('../kube/objects.js');
  const { notServedError } = await import('../kube/resources.js');
  const live = await fetchPolicyObjects(client, namespaces);
  const network = live.notServed.find((r) => r.kind === 'EgressNetwork');
  if (network) throw notServedError(network, undefined);
  for (const r of live.notServed)
    deps.err.write(
      `warning: the cluster does not serve ${r.kind} (${r.group}/${r.version}); none were read\n`,
    );
  return live.objects;
}

/** The proposal built and replayed: what `egress plan` and every `--plan` print. */
export async function planReport(
  ledger: EgressLedger,
  current: PolicyObject[],
  files: PolicyObject[],
  o: {
    mode: import('../policy/plan.js').ProposeMode;
    namespace: string;
    clusterNetworks: Cidr[];
    globalNamespace: string;
    currentAssumeAccepted: boolean;
  },
): Promise<PlanReport> {
  const { planFlows, proposeObjects } = await import('../policy/plan.js');
  const { objects, changes } = proposeObjects(current, files, { mode: o.mode, namespace: o.namespace });
  return planFlows(
    ledger,
    current,
    objects,
    {
      clusterNetworks: o.clusterNetworks,
      globalNamespace: o.globalNamespace,
      currentAssumeAccepted: o.currentAssumeAccepted,
    },
    changes,
  );
}

/**
 * Prints the plan. Exit 3 when some pods could not be read (the plan is partial; it is still printed),
 * else 1 with `failOnBreak` when a flow would break, else 0.
 */
export async function printPlan(
  r: PlanReport,
  o: {
    output: 'table' | 'json';
    failOnBreak: boolean;
    failed: { namespace: string; pod: string; error: string }[];
  },
  deps: Deps,
): Promise<number> {
  const { planFormats } = await import('../render/plan.js');
  deps.out.write(planFormats[o.output](r, { color: useColor(deps) }));
  if (o.failed.length) {
    const first = o.failed[0];
    deps.err.write(
      `error: ${o.failed.length} pod${o.failed.length === 1 ? '' : 's'} could not be read, so the plan misses their flows: ${first?.error ?? ''}${o.failed.length > 1 ? ` (and ${o.failed.length - 1} more)` : ''}\n`,
    );
    return ExitCode.Cluster;
  }
  if (o.failOnBreak && r.summary.break.flows > 0) {
    deps.err.write(
      `${r.summary.break.flows} flow${r.summary.break.flows === 1 ? '' : 's'} would break: ${r.flows
        .filter((p) => p.change === 'break')
        .slice(0, 3)
        .map(
          (p) => `${p.flow.client.namespace}/${p.flow.client.workload.name} → ${p.flow.destination || '?'}`,
        )
        .join(', ')}${r.summary.break.flows > 3 ? ', …' : ''}\n`,
    );
    return ExitCode.Findings;
  }
  return ExitCode.Ok;
}
