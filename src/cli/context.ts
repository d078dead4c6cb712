import type { Command } from 'commander';
import type { Deps } from '../deps.js';

/** What a command implementation receives from commander: positional args and merged options. */
export interface RawInput {
  /** The command's own name (`allow`, `deny`, …), for modules that serve several commands. */
  command: string;
  args: string[];
  /** The command's options merged with the global ones (`--kubeconfig`, `--context`, `--verbose`, …). */
  opts: Record<string, unknown>;
}

/** A command implementation, loaded only when its command runs (keeps `--help` fast). */
export interface CommandModule {
  run(input: RawInput, deps: Deps): Promise<number>;
}

export interface CliContext {
  deps: Deps;
  /** Registers an action that lazily imports `load()` and runs it; its exit code becomes the process's. */
  action(cmd: Command, load: () => Promise<CommandModule>): Command;
}

/** Adds the namespace flag every cluster command shares (kubectl's `-n`). */
export function addNamespaceFlag(cmd: Command): Command {
  return cmd.option('-n, --namespace <ns>', "namespace (default: the kubeconfig context's namespace)");
}

/** kubectl's `-A`. */
export function addAllNamespacesFlag(cmd: Command): Command {
  return cmd.option('-A, --all-namespaces', 'across all namespaces');
}

/** Appends an Examples section to a command's --help. */
export function withExamples(cmd: Command, examples: string): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.replace(/^\n/, '').trimEnd()}\n`);
}

/** A string option's value (commander gives strings for `<value>` options), or the default. */
export function optString(opts: Record<string, unknown>, key: string, fallback: string): string {
  const v = opts[key];
  return typeof v === 'string' ? v : fallback;
}
