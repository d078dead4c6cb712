import { Command, Option } from 'commander';
import { withExamples, type CliContext } from './context.js';

export function registerSandbox(program: Command, ctx: CliContext): void {
  const cmd = new Command('sandbox')
    .description('Run a simulated Kubernetes + Linkerd cluster on loopback, with the egress guide preloaded')
    .option('--port <n>', 'API server port (0: any free port)', '0')
    .addOption(
      new Option('--scenario <name>', 'what to preload').choices(['guide', 'empty']).default('guide'),
    )
    .option('--state <file>', 'load objects from FILE on start and save them there on exit')
    .option('--pods <n>', 'number of simulated client pods', '1')
    .option('--rate <n>', 'simulated requests per second per destination', '5')
    .option('--tls', 'serve the API over HTTPS with a generated CA')
    .option(
      '--demo',
      'walk through the Linkerd egress guide, printing each egressctl command and its output, then exit',
    );
  withExamples(
    cmd,
    `
  egressctl sandbox                       # prints: export KUBECONFIG=…
  egressctl sandbox --port 6443 --state sandbox.json
  egressctl sandbox --kubeconfig /tmp/sandbox.kubeconfig   # where to write the kubeconfig
  egressctl sandbox --demo                # the Linkerd egress guide, end to end (npm run demo)`,
  );
  ctx.action(cmd, () => import('../commands/sandbox.js'));
  program.addCommand(cmd);
}
