import { optString, type RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { ExitCode } from '../errors.js';
import { lint, renderFindings } from '../policy/lint.js';
import { loadPolicySource } from './policy-source.js';

/** `egress lint`: findings with severity and location; exit 1 when there are errors. */
export async function run(input: RawInput, deps: Deps): Promise<number> {
  const src = await loadPolicySource(input, deps, { allNamespaces: input.opts.allNamespaces === true });
  const findings = lint(src.objects, {
    clusterNetworks: src.clusterNetworks,
    globalNamespace: src.globalNamespace,
    live: src.live,
  });
  if (optString(input.opts, 'output', 'text') === 'json') {
    const errors = findings.filter((f) => f.severity === 'error').length;
    deps.out.write(
      `${JSON.stringify({ apiVersion: 'egressctl.linkerd.io/v1', kind: 'EgressLint', errors, warnings: findings.length - errors, findings }, null, 2)}\n`,
    );
  } else deps.out.write(renderFindings(findings));
  return findings.some((f) => f.severity === 'error') ? ExitCode.Findings : ExitCode.Ok;
}
