import type { ConnectSettings, Deadline } from '../kube/rest.js';
import { validateNamespace } from '../manifests/validate.js';
import { parseDuration } from './duration.js';

/**
 * The root program's options (`--kubeconfig`, `--context`, `--request-timeout`, `-v`), resolved once
 * before any command's `validate()` and handed to it, so no command reads them again.
 */
export interface GlobalOptions {
  kubeconfig: string | undefined;
  context: string | undefined;
  requestTimeoutMs: number;
  verbose: boolean;
}

/** The root program's flags as commander gives them. */
export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  requestTimeout: string;
  verbose?: boolean;
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

export function toGlobalOptions(f: GlobalFlags): GlobalOptions {
  return {
    kubeconfig: nonEmpty(f.kubeconfig),
    context: nonEmpty(f.context),
    requestTimeoutMs: parseDuration(f.requestTimeout, '--request-timeout'),
    verbose: f.verbose === true,
  };
}

/**
 * A command's deadline, from its own `--timeout` (every command that talks to the cluster has one):
 * it covers the whole command from `startedAt`, credential plugins, discovery and lookups included.
 * Undefined for a command without the flag.
 */
export function commandDeadline(opts: Record<string, unknown>, startedAt: number): Deadline | undefined {
  const v = opts.timeout;
  if (typeof v !== 'string') return undefined;
  return { ms: parseDuration(v, '--timeout'), flag: '--timeout', startedAt };
}

/** Settings for `deps.kube` from the global options and the command's resolved namespace. */
export function connectSettings(
  g: GlobalOptions,
  namespace: string,
  o: { maxSockets?: number } = {},
): ConnectSettings {
  return {
    kubeconfig: g.kubeconfig,
    context: g.context,
    namespace,
    requestTimeoutMs: g.requestTimeoutMs,
    ...o,
  };
}

/** `-n`, checked by a command's `validate()`; the one place its value is read. */
export function namespaceFlag(v: string | undefined): string | undefined {
  return v === undefined ? undefined : validateNamespace('-n/--namespace', v);
}

/** `--egress-namespace` (the policy controller's global egress namespace), checked. */
export function egressNamespaceFlag(v: string): string {
  return validateNamespace('--egress-namespace', v);
}

/**
 * The namespace a command works in, resolved in this one place: `-n` (already validated), else the
 * kubeconfig context's namespace, else the in-cluster service account's, else `default` (kubectl's
 * order, implemented by `kube/config.ts`). With `offline` (objects from `-f` files) no kubeconfig is
 * read: `-n`, else `default`.
 */
export async function resolveNamespace(
  g: GlobalOptions,
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  o: { offline?: boolean } = {},
): Promise<string> {
  if (flag !== undefined) return flag;
  if (o.offline) return 'default';
  // The kubeconfig (and its YAML parser) is read only when -n does not say the namespace.
  const { defaultNamespace } = await import('../kube/config.js');
  return validateNamespace(
    'the kubeconfig context namespace',
    defaultNamespace({ kubeconfig: g.kubeconfig, context: g.context }, env),
  );
}
