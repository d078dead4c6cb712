import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import type { GlobalOptions } from '../options/global.js';

/**
 * What every command module is, after linkerd2's `cli/cmd/*.go`: its flags (`command()` builds the
 * commander Command, help text and examples included), `validate()` (pure: argv-derived input → typed
 * options, or a UsageError/InvalidInput) and `run()` (options → exit code). `src/cli.ts` wires them
 * together; heavy modules are imported inside `run` only, so `--help` loads none of them.
 */
export interface CommandModule<O = unknown> {
  command(): Command;
  validate(input: CommandInput): O;
  run(options: O, deps: Deps): Promise<number>;
}

/** What commander parsed for one command, with the global options already resolved. */
export interface CommandInput {
  /** Positional arguments (variadic ones flattened). */
  args: string[];
  /** The command's own flags, as commander gives them (defaults applied); each command types them. */
  opts: Record<string, unknown>;
  global: GlobalOptions;
}

/**
 * Where the policy controller looks for global EgressNetworks by default (its
 * `--global-egress-network-namespace`, Helm `egress.globalEgressNetworkNamespace`).
 */
export const DEFAULT_EGRESS_NAMESPACE = 'linkerd-egress';
/** The cluster's own networks when `--cluster-networks` is not given (RFC 1918, CGNAT, ULA). */
export const DEFAULT_CLUSTER_NETWORKS = '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8';
/** The EgressNetwork `allow`, `deny` and `route` use when none is named. */
export const DEFAULT_NETWORK = 'all-egress-traffic';

/** Commander's accumulator for repeatable flags. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** kubectl's `-n`. */
export function addNamespaceFlag(cmd: Command): Command {
  return cmd.option('-n, --namespace <ns>', "namespace (default: the kubeconfig context's namespace)");
}

/** kubectl's `-A`. */
export function addAllNamespacesFlag(cmd: Command): Command {
  return cmd.option('-A, --all-namespaces', 'across all namespaces');
}

export function addEgressNamespaceFlag(cmd: Command): Command {
  return cmd.option(
    '--egress-namespace <ns>',
    "the policy controller's global egress namespace",
    DEFAULT_EGRESS_NAMESPACE,
  );
}

export function addClusterNetworksFlag(cmd: Command): Command {
  return cmd.option('--cluster-networks <cidrs>', "the cluster's networks", DEFAULT_CLUSTER_NETWORKS);
}

/** `-n`, `--global` and `--egress-namespace`: where a writing command's objects go. */
export function addScopeFlags(cmd: Command): Command {
  addNamespaceFlag(cmd);
  cmd.option(
    '--global',
    'write to the global egress namespace (shared by namespaces that have no EgressNetwork)',
  );
  return addEgressNamespaceFlag(cmd);
}

/** kubectl's `--dry-run`, where a bare `--dry-run` means `client`. */
export function dryRunOption(description: string): Option {
  return new Option('--dry-run [strategy]', description)
    .choices(['none', 'client', 'server'])
    .preset('client');
}

/**
 * `--timeout`: the deadline for the whole command, lookups and credential plugins included (cli.ts
 * binds it into every kube client the command opens). Read commands default to 30s, writing ones to 60s.
 */
export function addTimeoutFlag(cmd: Command, byDefault: string, what = 'the whole command'): Command {
  return cmd.option('--timeout <duration>', `deadline for ${what}, at most 24h`, byDefault);
}

/** Flags shared by every command that writes objects (`allow`, `deny`, `route`). */
export function addApplyFlags(cmd: Command): Command {
  addTimeoutFlag(cmd, '60s');
  return (
    cmd
      .addOption(
        dryRunOption(
          'none, client (print only: contacts nothing, so checks no conflicts or references) or server (the server validates, writes nothing)',
        ),
      )
      .addOption(
        new Option('-o, --output <format>', 'print the objects as yaml or json').choices([
          'yaml',
          'json',
          'name',
        ]),
      )
      .option('--diff', 'show what would change against the live objects, and change nothing')
      .option('--field-manager <name>', 'server-side apply field manager', 'egressctl')
      .option(
        '--force-conflicts',
        'take over fields another field manager owns (without it, such conflicts are refused, as kubectl refuses them)',
      )
      // Refusing is the default now; the old opt-out is kept so that scripts which used it still run.
      .addOption(new Option('--no-force-conflicts').hideHelp())
      .option(
        '--strict',
        'a parent EgressNetwork or backend Service that does not exist is an error (exit 3, nothing applied) instead of a warning',
      )
      .option('--plan', 'show what the change would do to the live traffic (egress plan), and apply nothing')
  );
}

/** kubectl's `-f, --filename`: files or directories, repeatable (`-` is standard input), in the order given. */
export function addFilenameFlag(cmd: Command, description: string): Command {
  return cmd.option('-f, --filename <path>', description, collect, [] as string[]);
}

/** Appends an Examples section to a command's --help. */
export function withExamples(cmd: Command, examples: string): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.replace(/^\n/, '').trimEnd()}\n`);
}

/**
 * kubectl's `-o, --output` for a listing command: one of `formats`, or `jsonpath=TEMPLATE` (kubectl's
 * dialect, render/jsonpath.ts). Commander's `.choices()` cannot take the `=TEMPLATE` part, so the value
 * is checked by `parseOutputFlag` in validate().
 */
export function addListOutputFlags(cmd: Command, formats: readonly string[], byDefault: string): Command {
  const output = new Option(
    '-o, --output <format>',
    `output format: ${formats.join(', ')} or jsonpath=TEMPLATE (kubectl's JSONPath: {.items[*].name}, {range .items[*]}...{end})`,
  ).default(byDefault);
  SUGGESTED.set(output, [...formats, 'jsonpath=']);
  return cmd.addOption(output).option('--no-headers', 'table output only: print no header lines');
}

/**
 * Values shell completion offers for an option commander cannot check by `.choices()` (`-o` takes
 * `jsonpath=TEMPLATE` too), so the formats are still one list: the one the flag is made from.
 */
const SUGGESTED = new WeakMap<Option, readonly string[]>();

export const suggestedValues = (o: Option): readonly string[] | undefined => SUGGESTED.get(o);

/** `-o` checked against the command's formats; `jsonpath=TEMPLATE` carries its template. */
export function parseOutputFlag<F extends string>(
  value: string,
  formats: readonly F[],
): { format: F | 'jsonpath'; template: string | undefined } {
  const m = /^jsonpath=(.*)$/s.exec(value);
  if (m) {
    if ((m[1] ?? '') === '')
      throw new UsageError("-o jsonpath= needs a template, e.g. -o jsonpath='{.items[*].name}'");
    return { format: 'jsonpath', template: m[1] };
  }
  if (value === 'jsonpath') throw new UsageError('-o jsonpath needs a template: -o jsonpath=TEMPLATE');
  if (!(formats as readonly string[]).includes(value))
    throw new UsageError(
      `-o ${value} is not an output format here: choose ${formats.join(', ')} or jsonpath=TEMPLATE`,
    );
  return { format: value as F, template: undefined };
}
