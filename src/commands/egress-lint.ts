import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ExitCode } from '../errors.js';
import {
  addAllNamespacesFlag,
  addClusterNetworksFlag,
  addEgressNamespaceFlag,
  addNamespaceFlag,
  collect,
  withExamples,
  type CommandInput,
} from './flags.js';
import {
  loadPolicySource,
  toPolicySourceOptions,
  type PolicySourceFlags,
  type PolicySourceOptions,
} from './policy-source.js';

/** `egress lint`: findings with severity and location; exit 1 when there are errors. */
export function command(): Command {
  const cmd = new Command('lint')
    .description('Find egress policy mistakes Linkerd would silently ignore or reject (exit 1 on errors)')
    .option(
      '-f, --filename <path>',
      'lint files or directories instead of the cluster (repeatable)',
      collect,
      [],
    );
  addEgressNamespaceFlag(cmd);
  addClusterNetworksFlag(cmd);
  cmd.addOption(
    new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
  );
  addNamespaceFlag(cmd);
  addAllNamespacesFlag(cmd);
  return withExamples(
    cmd,
    `
  egressctl egress lint -f manifests/
  egressctl egress lint -A -o json`,
  );
}

interface Flags extends PolicySourceFlags {
  output: 'text' | 'json';
  allNamespaces?: boolean;
}

export interface Options {
  output: Flags['output'];
  allNamespaces: boolean;
  source: PolicySourceOptions;
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  return {
    output: f.output,
    allNamespaces: f.allNamespaces === true,
    source: toPolicySourceOptions(f, input.global),
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { lint } = await import('../policy/lint.js');
  const { findingsFormats } = await import('../render/findings.js');
  const src = await loadPolicySource(o.source, deps, { allNamespaces: o.allNamespaces });
  const findings = lint(src.objects, {
    clusterNetworks: src.clusterNetworks,
    globalNamespace: src.globalNamespace,
    live: src.live,
  });
  for (const line of src.read) deps.err.write(`${line}\n`);
  deps.out.write(findingsFormats[o.output](findings));
  return findings.some((f) => f.severity === 'error') ? ExitCode.Findings : ExitCode.Ok;
}
