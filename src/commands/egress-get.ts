import { Command } from 'commander';
import type { Deps } from '../deps.js';
import { parseClusterNetworks } from '../manifests/validate.js';
import { ClusterError, ExitCode } from '../errors.js';
import {
  connectSettings,
  egressNamespaceFlag,
  namespaceFlag,
  resolveNamespace,
  type GlobalOptions,
} from '../options/global.js';
import {
  addAllNamespacesFlag,
  addClusterNetworksFlag,
  addEgressNamespaceFlag,
  addListOutputFlags,
  parseOutputFlag,
  addNamespaceFlag,
  addTimeoutFlag,
  withExamples,
  type CommandInput,
} from './flags.js';

/** `egress get [NAME]`: EgressNetworks with their policy, networks, status and attached routes. */
export function command(): Command {
  const cmd = new Command('get')
    .description('Show EgressNetworks with their policy, networks, status and attached routes')
    .argument('[name]', 'EgressNetwork name');
  addListOutputFlags(cmd, GET_OUTPUTS, 'table');
  addNamespaceFlag(cmd);
  addAllNamespacesFlag(cmd);
  // The global namespace is read too: its networks apply to namespaces that have none of their own.
  addEgressNamespaceFlag(cmd);
  // What a network without spec.networks covers: everything outside these.
  addClusterNetworksFlag(cmd);
  addTimeoutFlag(cmd, '30s');
  return withExamples(
    cmd,
    `
  egressctl egress get -n egress-test
  egressctl egress get -A -o yaml
  egressctl egress get -o name
  egressctl egress get -o jsonpath='{range .items[*]}{.name}{"\\t"}{.trafficPolicy}{"\\n"}{end}'`,
  );
}

/** `-o` of `egress get` (render/egress-get.ts has the formats). */
const GET_OUTPUTS = ['table', 'wide', 'name', 'json', 'yaml'] as const;

interface Flags {
  output: string;
  headers: boolean;
  clusterNetworks: string;
  namespace?: string;
  allNamespaces?: boolean;
  egressNamespace: string;
}

export interface Options {
  global: GlobalOptions;
  name: string | undefined;
  output: (typeof GET_OUTPUTS)[number] | 'jsonpath';
  /** The `-o jsonpath=` template. */
  template: string | undefined;
  headers: boolean;
  clusterNetworks: string[];
  namespace: string | undefined;
  allNamespaces: boolean;
  egressNamespace: string;
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  const out = parseOutputFlag(f.output, GET_OUTPUTS);
  return {
    global: input.global,
    name: input.args[0],
    output: out.format,
    template: out.template,
    headers: f.headers !== false,
    clusterNetworks: parseClusterNetworks(f.clusterNetworks).map((c) => c.text),
    namespace: namespaceFlag(f.namespace),
    allNamespaces: f.allNamespaces === true,
    egressNamespace: egressNamespaceFlag(f.egressNamespace),
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { fetchPolicyObjects } = await import('../kube/objects.js');
  const { notServedError } = await import('../kube/resources.js');
  const { selectNetworks, toEgressReport } = await import('../policy/egress-report.js');
  const { getFormats, renderWarnings } = await import('../render/egress-get.js');
  const all = o.allNamespaces;
  const globalNamespace = o.egressNamespace;
  const ns = await resolveNamespace(o.global, o.namespace, deps.env);
  const client = await deps.kube(connectSettings(o.global, ns));
  try {
    const live = await fetchPolicyObjects(client, all ? 'all' : [ns, globalNamespace]);
    for (const r of live.notServed.filter(
      (x) => x.group !== 'policy.linkerd.io' || x.kind === 'EgressNetwork',
    )) {
      if (r.kind === 'EgressNetwork') throw notServedError(r, undefined);
      deps.err.write(
        `warning: the cluster does not serve ${r.kind} (${r.group}/${r.version}); none listed. ${r.install}\n`,
      );
    }
    const name = o.name;
    const report = toEgressReport(live.objects, { globalNamespace, clusterNetworks: o.clusterNetworks });
    report.items = selectNetworks(report.items, { namespace: ns, globalNamespace, all, name });
    if (name && report.items.length === 0) {
      throw new ClusterError(
        `EgressNetwork ${ns}/${name} not found (list them with: egressctl egress get -n ${ns})`,
      );
    }
    const table = o.output === 'table' || o.output === 'wide';
    if (table && report.items.length === 0)
      deps.err.write(
        `No EgressNetworks found ${all ? 'in any namespace' : `in namespace ${ns} or ${globalNamespace}`}.\n`,
      );
    deps.out.write(
      getFormats[o.output](report, {
        allNamespaces: all || report.items.some((i) => i.namespace !== ns),
        headers: o.headers,
        ...(o.template !== undefined ? { template: o.template } : {}),
      }),
    );
    if (table) deps.err.write(renderWarnings(report.warnings));
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}
