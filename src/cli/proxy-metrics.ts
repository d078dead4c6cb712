import { Command, Option } from 'commander';
import { addNamespaceFlag, withExamples, type CliContext } from './context.js';

export function registerProxyMetrics(program: Command, ctx: CliContext): void {
  const cmd = new Command('proxy-metrics')
    .description("Fetch the /metrics of each pod's Linkerd proxy through the Kubernetes API (port-forward)")
    .argument('[target]', 'TYPE/NAME: po|pod, deploy, sts, ds, rs, rc, job or cj')
    .option('-l, --selector <selector>', 'pods matching a label selector (a=b,c!=d,e in (x,y))')
    .option('--all', 'every pod in the namespace')
    .option(
      '--egress',
      'keep only samples with parent_kind="EgressNetwork" (with their HELP/TYPE/UNIT lines)',
    )
    .option(
      '--obfuscate',
      'replace identifying label values (hostnames, IPs, names) with a stable 8-hex hash',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['raw', 'json']).default('raw'))
    .option('--max-concurrency <n>', 'pods scraped at once', '16')
    .option('--timeout <duration>', 'deadline for the whole command', '30s')
    .option('--pod-timeout <duration>', 'deadline for each pod (connect, forward and read)', '10s');
  addNamespaceFlag(cmd);
  withExamples(
    cmd,
    `
  egressctl proxy-metrics -n egress-test po/client
  egressctl proxy-metrics -n egress-test deploy/web --egress
  egressctl proxy-metrics -n egress-test -l app=web -o json | jq '.[].pod'
  egressctl proxy-metrics -n egress-test --all --obfuscate > dump.txt
  kubectl egress proxy-metrics po/client        # as a kubectl plugin`,
  );
  ctx.action(cmd, () => import('../commands/proxy-metrics.js'));
  program.addCommand(cmd);
}
