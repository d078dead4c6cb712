import { Command, Option } from 'commander';
import * as egressAllow from './commands/egress-allow.js';
import * as egressCheck from './commands/egress-check.js';
import * as egressDelete from './commands/egress-delete.js';
import * as egressDeny from './commands/egress-deny.js';
import * as egressGet from './commands/egress-get.js';
import * as egressLint from './commands/egress-lint.js';
import * as egressLearn from './commands/egress-learn.js';
import * as egressPlan from './commands/egress-plan.js';
import * as egressRoute from './commands/egress-route.js';
import * as egressStat from './commands/egress-stat.js';
import type { CommandInput, CommandModule } from './commands/flags.js';
import * as completion from './commands/completion.js';
import * as proxyMetrics from './commands/proxy-metrics.js';
import * as sandbox from './commands/sandbox.js';
import * as version from './commands/version.js';
import type { Deps } from './deps.js';
import { UsageError } from './errors.js';
import { commandDeadline, toGlobalOptions, type GlobalFlags } from './options/global.js';

export const VERSION = version.CLIENT_VERSION;

/** The executable name kubectl runs for `kubectl egress` (package.json `bin`). */
export const PLUGIN_BIN = 'kubectl-egress';

/** How the program was invoked: as `egressctl`, or as the kubectl plugin (`kubectl egress`). */
export interface ProgramShape {
  plugin?: boolean;
}

/** Which shape an executable's name (process.argv[1]'s basename, without `.js`) asks for. */
export function shapeOf(invokedAs: string | undefined): ProgramShape {
  const base = (invokedAs ?? '').replace(/\.(c|m)?js$/, '');
  return { plugin: base === PLUGIN_BIN || base === 'kubectl_complete-egress' };
}

/**
 * Help, examples and error lines are written for `egressctl egress …`; as a plugin they say what the user
 * types instead (`kubectl egress stat`, `kubectl egress proxy-metrics`). One rewrite, applied where text
 * leaves the program, so no command spells its invocation twice. `egressctl.linkerd.io` and the field
 * manager's default (`"egressctl"`) are left alone: only `egressctl` followed by a space and a word is
 * an invocation.
 */
export function toPluginText(text: string): string {
  return text
    .replace(/\begressctl egress (?=[a-z])/g, 'kubectl egress ')
    .replace(/\begressctl (?=[a-z-])/g, 'kubectl egress ');
}

/** What an action does with a command's validated options: run it (or, in tests, capture them). */
export type Runner = (mod: CommandModule, options: unknown, deps: Deps) => Promise<number>;

const runCommand: Runner = (mod, options, deps) => mod.run(options, deps);

/**
 * Builds the commander program from the command modules. Each module's `command()` declares its
 * flags; the action resolves the global options once, runs the module's `validate()`, then `runner`.
 */
export function buildProgram(
  deps: Deps,
  onExit: (code: number) => void,
  runner: Runner = runCommand,
  shape: ProgramShape = {},
): Command {
  const plugin = shape.plugin === true;
  const say = plugin ? toPluginText : (t: string) => t;
  const program = new Command(plugin ? 'kubectl egress' : 'egressctl')
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
      writeOut: (s) => deps.out.write(say(s)),
      writeErr: (s) => deps.err.write(say(s)),
      outputError: (s, write) => write(s.replace(/^error: /, 'error: ')),
    })
    .exitOverride();
  program.addHelpText('after', () =>
    say(`
Examples:
  egressctl proxy-metrics -n egress-test po/client          # raw proxy metrics, like linkerd dg proxy-metrics
  egressctl egress stat -n egress-test deploy/web           # what left the cluster, and what policy did to it
  egressctl egress deny -n egress-test                      # block all egress from egress-test
  egressctl egress allow -n egress-test https://httpbin.org # then let one destination through
  egressctl egress check -n egress-test https://api.stripe.com
  egressctl sandbox                                         # a simulated cluster to try it all

Exit codes: 0 ok, 1 findings (denied traffic, failed checks), 2 usage error, 3 cluster or partial failure.
`),
  );

  const wire = (mod: CommandModule): Command =>
    mod.command().action(async (...params: unknown[]) => {
      const self = params[params.length - 1] as Command;
      const variadic = self.registeredArguments.at(-1)?.variadic;
      const args = variadic
        ? self.processedArgs.flat().filter((a): a is string => typeof a === 'string')
        : self.args.slice(0, self.registeredArguments.length);
      const input: CommandInput = {
        args,
        opts: self.opts(),
        global: toGlobalOptions(program.opts<GlobalFlags>()),
      };
      // Bound here, once, so that no command can forget them: every client a command opens gets its
      // --timeout deadline, Ctrl-C and (with -v) a place to tell its retries.
      const deadline = commandDeadline(input.opts, deps.now());
      const log = input.global.verbose ? (line: string) => deps.err.write(`${line}\n`) : undefined;
      const bound: Deps = {
        ...deps,
        kube: (s) => deps.kube({ deadline, signal: deps.signal, ...(log ? { log } : {}), ...s }),
      };
      onExit(await runner(mod, mod.validate(input), bound));
    });
  // Each module types its own options; here they are only passed from validate() to run().
  const m = (mod: unknown) => wire(mod as CommandModule);

  // see · change · know before you ship
  const egressModules = [
    egressStat,
    egressDeny,
    egressAllow,
    egressRoute,
    egressGet,
    egressDelete,
    egressCheck,
    egressLint,
    egressPlan,
    egressLearn,
  ];
  const egressGroup = (): Command => {
    const group = new Command('egress').description(
      'See and shape egress traffic (EgressNetworks and their routes)',
    );
    for (const mod of egressModules) group.addCommand(m(mod));
    return group;
  };
  const egress = egressGroup();
  const parents = [program];
  if (plugin) {
    // `kubectl egress` is already the egress group: its verbs are top level, built from the same group
    // so that a verb added to it appears here too.
    for (const sub of [...egress.commands]) program.addCommand(sub);
    program.addCommand(m(proxyMetrics));
    // `kubectl egress egress stat` was the only spelling before the plugin tree; scripts that use it keep
    // working, unlisted.
    program.addCommand(egressGroup(), { hidden: true });
  } else {
    program.addCommand(m(proxyMetrics));
    program.addCommand(egress);
    parents.push(egress);
  }
  program.addCommand(m(version));
  program.addCommand(m(completion));
  program.addCommand(m(sandbox));
  // addCommand() does not copy these settings to subcommands: apply them to the whole tree.
  const inherit = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.copyInheritedSettings(program);
      inherit(sub);
    }
  };
  inherit(program);
  for (const parent of parents) parent.addCommand(helpCommand(parent).copyInheritedSettings(program));
  return program;
}

/**
 * `help [COMMAND...]`, in place of commander's implicit one, which prints the whole help (exit 2) for a
 * name it does not know: here an unknown name is a usage error that names it, as kubectl's is.
 */
function helpCommand(parent: Command): Command {
  const path = (c: Command): string => (c.parent ? `${path(c.parent)} ${c.name()}` : c.name());
  return new Command('help')
    .description('display help for a command')
    .argument('[command...]', 'the command')
    .helpOption(false)
    .action((names: string[]) => {
      let cmd = parent;
      for (const n of names) {
        const sub = cmd.commands.find((c) => c.name() === n || c.aliases().includes(n));
        if (!sub || sub.name() === 'help')
          throw new UsageError(`unknown command "${n}" for "${path(cmd)}": see '${path(cmd)} --help'`);
        cmd = sub;
      }
      cmd.outputHelp();
    });
}

/**
 * Parses `argv` as the program would and returns the command's validated options without running it:
 * for the argv → options table test. Throws what `validate()` or commander throws.
 */
export async function parseOptions(
  argv: string[],
  deps: Deps,
): Promise<{ command: string; options: unknown }> {
  let captured: { command: string; options: unknown } | undefined;
  const program = buildProgram(
    deps,
    () => {},
    (mod, options) => {
      captured = { command: mod.command().name(), options };
      return Promise.resolve(0);
    },
  );
  await program.parseAsync(argv, { from: 'user' });
  if (!captured) throw new Error(`no command ran for: ${argv.join(' ')}`);
  return captured;
}
