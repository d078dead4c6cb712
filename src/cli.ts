import { Command, Option } from 'commander';
import type { Deps } from './deps.js';
import type { CliContext, CommandModule } from './cli/context.js';
import { registerProxyMetrics } from './cli/proxy-metrics.js';
import { registerEgress } from './cli/egress.js';
import { registerSandbox } from './cli/sandbox.js';

export const VERSION = '0.1.0';

/**
 * Builds the commander program. Only flag definitions live here and in `src/cli/*`; each command's
 * implementation (and the Kubernetes client) is imported when that command runs.
 */
export function buildProgram(deps: Deps, onExit: (code: number) => void): Command {
  const ctx: CliContext = {
    deps,
    action(cmd, load: () => Promise<CommandModule>) {
      return cmd.action(async (...params: unknown[]) => {
        const self = params[params.length - 1] as Command;
        const args = self.args.slice(0, self.registeredArguments.length);
        const variadic = self.registeredArguments.at(-1)?.variadic;
        const positional = variadic
          ? self.processedArgs.flat().filter((a): a is string => typeof a === 'string')
          : args;
        const mod = await load();
        onExit(await mod.run({ command: self.name(), args: positional, opts: self.optsWithGlobals() }, deps));
      });
    },
  };

  const program = new Command('egressctl')
    .description('See and control Linkerd egress traffic: proxy metrics, EgressNetworks, Gateway API routes')
    .version(VERSION, '--version', 'print the version')
    .addOption(
      new Option(
        '--kubeconfig <file>',
        'path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)',
      ),
    )
    .addOption(new Option('--context <name>', 'the kubeconfig context to use'))
    .addOption(
      new Option('--request-timeout <duration>', 'timeout for each API request, e.g. 10s (0: none)').default(
        '0',
      ),
    )
    .addOption(new Option('-v, --verbose', 'print details of failures on stderr'))
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => deps.out.write(s),
      writeErr: (s) => deps.err.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'error: ')),
    })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  egressctl proxy-metrics -n egress-test po/client          # raw proxy metrics, like linkerd dg proxy-metrics
  egressctl egress stat -n egress-test deploy/web           # what left the cluster, and what policy did to it
  egressctl egress deny -n egress-test                      # block all egress from egress-test
  egressctl egress allow -n egress-test https://httpbin.org # then let one destination through
  egressctl egress check -n egress-test https://api.stripe.com
  egressctl sandbox                                         # a simulated cluster to try it all

Exit codes: 0 ok, 1 findings (denied traffic, failed checks), 2 usage error, 3 cluster or partial failure.
`,
  );

  registerProxyMetrics(program, ctx);
  registerEgress(program, ctx);
  registerSandbox(program, ctx);
  // addCommand() does not copy these settings to subcommands: apply them to the whole tree.
  const inherit = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.copyInheritedSettings(program);
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}
