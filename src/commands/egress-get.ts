import { stringify } from 'yaml';
import type { RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode } from '../errors.js';
import { fetchPolicyObjects } from '../kube/objects.js';
import { connect } from '../kube/rest.js';
import { renderEgressReport, toEgressReport } from '../render/egress-get.js';

export async function run(input: RawInput, deps: Deps): Promise<number> {
  const o = input.opts;
  const all = o.allNamespaces === true;
  const globalNamespace = typeof o.egressNamespace === 'string' ? o.egressNamespace : 'linkerd-egress';
  const client = await connect(o, deps.env);
  try {
    const ns = client.namespace;
    // The global namespace is read too: its networks apply to namespaces that have none of their own.
    const live = await fetchPolicyObjects(client, all ? 'all' : [ns, globalNamespace]);
    for (const r of live.notServed.filter(
      (x) => x.group !== 'policy.linkerd.io' || x.kind === 'EgressNetwork',
    )) {
      if (r.kind === 'EgressNetwork') {
        throw new ClusterError(
          `the cluster does not serve EgressNetwork (egressnetworks.policy.linkerd.io/v1alpha1): ${r.install}`,
        );
      }
      deps.err.write(
        `warning: the cluster does not serve ${r.kind} (${r.group}/${r.version}); none listed. ${r.install}\n`,
      );
    }
    const name = input.args[0];
    const report = toEgressReport(live.objects, { globalNamespace });
    report.items = report.items.filter(
      (i) =>
        (all ||
          i.namespace === ns ||
          (i.namespace === globalNamespace && !report.items.some((x) => x.namespace === ns))) &&
        (!name || i.name === name),
    );
    if (name && report.items.length === 0) {
      throw new ClusterError(
        `EgressNetwork ${ns}/${name} not found (list them with: egressctl egress get -n ${ns})`,
      );
    }
    if (o.output === 'json') deps.out.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (o.output === 'yaml') deps.out.write(stringify(report));
    else {
      if (report.items.length === 0)
        deps.err.write(
          `No EgressNetworks found ${all ? 'in any namespace' : `in namespace ${ns} or ${globalNamespace}`}.\n`,
        );
      deps.out.write(
        renderEgressReport(report, { allNamespaces: all || report.items.some((i) => i.namespace !== ns) }),
      );
      for (const w of report.warnings) deps.err.write(`warning: ${w}\n`);
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}
