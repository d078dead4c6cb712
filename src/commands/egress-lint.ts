import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ExitCode, UsageError } from '../errors.js';
import { parseBundleVersion } from '../kinds.js';
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
import {
  loadPolicySource,
  toPolicySourceOptions,
  type PolicySourceFlags,
  type PolicySourceOptions,
} from './policy-source.js';

/** `egress lint`: findings with severity and location; exit 1 when there are errors. */
export function command(): Command {
  const cmd = new Command('lint').description(
    'Find egress policy mistakes Linkerd would silently ignore or reject (exit 1 on errors)',
  );
  addFilenameFlag(cmd, 'lint files or directories instead of the cluster (repeatable)');
  addEgressNamespaceFlag(cmd);
  addClusterNetworksFlag(cmd);
  cmd.addOption(
    new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
  );
  addNamespaceFlag(cmd);
  addAllNamespacesFlag(cmd);
  cmd.option(
    '--gateway-api-version <vX.Y.Z>',
    "with -f: the Gateway API bundle the cluster runs, for the rules that depend on it (live lint reads the CRDs' bundle-version annotation)",
  );
  addTimeoutFlag(cmd, '30s', 'reading the cluster (not used with -f)');
  return withExamples(
    cmd,
    `
  egressctl egress lint -f manifests/
  egressctl egress lint -f manifests/ --gateway-api-version v1.5.1
  egressctl egress lint -A -o json`,
  );
}

interface Flags extends PolicySourceFlags {
  output: 'text' | 'json';
  allNamespaces?: boolean;
  gatewayApiVersion?: string;
}

export interface Options {
  output: Flags['output'];
  allNamespaces: boolean;
  source: PolicySourceOptions;
  /** `--gateway-api-version`, normalized to `vX.Y.Z` (absent when not given). */
  gatewayApiVersion?: string;
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  const source = toPolicySourceOptions(f, input.global);
  const gatewayApiVersion = gatewayApiVersionFlag(f.gatewayApiVersion, source.files.length > 0);
  return {
    output: f.output,
    allNamespaces: f.allNamespaces === true,
    source,
    ...(gatewayApiVersion ? { gatewayApiVersion } : {}),
  };
}

/** `--gateway-api-version`: a release version, with -f only (live lint reads the CRDs). */
function gatewayApiVersionFlag(v: string | undefined, files: boolean): string | undefined {
  if (v === undefined) return undefined;
  const n = parseBundleVersion(v);
  if (!n) throw new UsageError(`invalid --gateway-api-version "${v}": want a release version such as v1.5.1`);
  if (!files)
    throw new UsageError(
      "--gateway-api-version applies with -f only: live lint reads the bundle version from the cluster's CRDs",
    );
  return `v${n.join('.')}`;
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { BUNDLE_RULE_KINDS, bundleVersionNote, lint } = await import('../policy/lint.js');
  const { findingsFormats } = await import('../render/findings.js');
  const src = await loadPolicySource(o.source, deps, {
    allNamespaces: o.allNamespaces,
    bundleKinds: BUNDLE_RULE_KINDS,
  });
  const version = o.gatewayApiVersion;
  const gatewayApi =
    src.gatewayApi ?? (version ? new Map(BUNDLE_RULE_KINDS.map((k) => [k, version])) : undefined);
  // Live, fetchBundleVersions has already said which CRD it could not read.
  const note = src.live ? undefined : bundleVersionNote(src.objects, gatewayApi);
  if (note) deps.err.write(`${note}\n`);
  const findings = lint(src.objects, {
    clusterNetworks: src.clusterNetworks,
    globalNamespace: src.globalNamespace,
    live: src.live,
    gatewayApi,
  });
  for (const line of src.read) deps.err.write(`${line}\n`);
  deps.out.write(findingsFormats[o.output](findings));
  return findings.some((f) => f.severity === 'error') ? ExitCode.Findings : ExitCode.Ok;
}
