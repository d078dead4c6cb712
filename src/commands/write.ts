import type { Deps } from '../deps.js';
import { isRouteObject } from '../kinds.js';
import { ClusterError, ExitCode, UsageError } from '../errors.js';
import type { Manifest } from '../manifests/build.js';
import {
  connectSettings,
  egressNamespaceFlag,
  namespaceFlag,
  resolveNamespace,
  type GlobalOptions,
} from '../options/global.js';
import type { KubeClient } from '../kube/rest.js';

/** The apply and scope flags (`addApplyFlags`, `addScopeFlags`) as commander gives them. */
export interface WriteFlags {
  dryRun?: 'none' | 'client' | 'server';
  output?: 'yaml' | 'json' | 'name';
  diff?: boolean;
  fieldManager: string;
  forceConflicts?: boolean;
  strict?: boolean;
  plan?: boolean;
  namespace?: string;
  global?: boolean;
  egressNamespace: string;
}

/** What every writing command (`allow`, `deny`, `route`) shares: scope, dry-run, output, apply flags. */
export interface WriteOptions {
  global: GlobalOptions;
  dryRun: 'none' | 'client' | 'server';
  output: 'yaml' | 'json' | 'name' | undefined;
  diff: boolean;
  fieldManager: string;
  force: boolean;
  /** `--strict`: a dangling parent or backend reference is an error, not a warning. */
  strict: boolean;
  /** `--plan`: replay the live traffic against the change (`egress plan`) instead of writing. */
  plan: boolean;
  /** `-n`, when given; else the context's namespace, or the global egress namespace with --global. */
  namespace: string | undefined;
  toGlobal: boolean;
  egressNamespace: string;
}

/** Checks the shared flags (kubectl's rules for --dry-run, --diff and -o). Pure. */
export function toWriteOptions(f: WriteFlags, global: GlobalOptions): WriteOptions {
  const dryRun = f.dryRun ?? 'none';
  const diff = f.diff === true;
  if (diff && dryRun !== 'none') throw new UsageError('--diff already changes nothing: drop --dry-run');
  if (diff && f.output) throw new UsageError('--diff prints a diff: drop -o');
  const egressNamespace = egressNamespaceFlag(f.egressNamespace);
  const plan = f.plan === true;
  if (plan && (dryRun !== 'none' || diff))
    throw new UsageError('--plan already changes nothing: drop --dry-run and --diff');
  if (plan && f.output !== undefined && f.output !== 'json')
    throw new UsageError(`--plan prints a plan: -o json, or no -o for the table (got -o ${f.output})`);
  const toGlobal = f.global === true;
  if (toGlobal && f.namespace !== undefined)
    throw new UsageError(
      '--global and -n are exclusive: --global writes to the global egress namespace (--egress-namespace)',
    );
  return {
    global,
    dryRun,
    output: f.output,
    diff,
    fieldManager: f.fieldManager,
    force: f.forceConflicts === true,
    strict: f.strict === true,
    plan,
    namespace: namespaceFlag(f.namespace),
    toGlobal,
    egressNamespace,
  };
}

/** Where the objects go: the global egress namespace with --global, else the resolved namespace. */
export async function writeNamespace(w: WriteOptions, deps: Deps): Promise<string> {
  return w.toGlobal ? w.egressNamespace : resolveNamespace(w.global, w.namespace, deps.env);
}

/**
 * Prints, diffs or server-side applies the objects, as the flags say. Routes are first checked against
 * the live routes on the same parent port (mixed types, a second TCPRoute), so nothing is applied that
 * Linkerd would reject.
 */
export async function writeObjects(
  objects: Manifest[],
  w: WriteOptions,
  namespace: string,
  deps: Deps,
): Promise<number> {
  if (w.plan) return (await import('./write-plan.js')).planWrite(objects, w, namespace, deps);
  const { applyFormats, objectName, printFormats } = await import('../render/apply.js');
  if (w.dryRun === 'client') {
    deps.out.write(await printFormats[w.output ?? 'yaml'](objects));
    return ExitCode.Ok;
  }
  const { applyObjects, fetchLive, findDanglingRefs } = await import('../kube/apply.js');
  const client = await deps.kube(connectSettings(w.global, namespace));
  try {
    await checkRouteConflicts(objects, client);
    const dangling = await findDanglingRefs(client, objects);
    if (dangling.length && w.strict)
      throw new ClusterError(
        `${dangling[0] ?? ''}${dangling.length > 1 ? ` (and ${dangling.length - 1} more)` : ''}. Nothing was applied (--strict)`,
      );
    for (const d of dangling) deps.err.write(`warning: ${d}\n`);
    if (w.diff) {
      const { diffObjects } = await import('../manifests/diff.js');
      let changed = 0;
      for (const m of objects) {
        const live = await fetchLive(client, m);
        const [after] = await applyObjects(client, [m], {
          dryRun: 'server',
          fieldManager: w.fieldManager,
          force: w.force,
        });
        const d = diffObjects(objectName(m), live, after?.object);
        if (d) {
          changed++;
          deps.out.write(d);
        }
      }
      return changed ? ExitCode.Findings : ExitCode.Ok;
    }
    const results = await applyObjects(client, objects, {
      dryRun: w.dryRun === 'server' ? 'server' : 'none',
      fieldManager: w.fieldManager,
      force: w.force,
    });
    deps.out.write(
      await applyFormats[w.output ?? 'text'](results, { dryRun: w.dryRun === 'server' ? 'server' : 'none' }),
    );
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

async function checkRouteConflicts(objects: Manifest[], client: KubeClient): Promise<void> {
  const routes = objects.filter(isRouteObject);
  if (!routes.length) return;
  const { fetchPolicyObjects } = await import('../kube/objects.js');
  const { routeTypeConflict } = await import('../policy/conflicts.js');
  const { egressParents } = await import('../policy/types.js');
  const namespaces = [
    ...new Set(routes.flatMap((r) => [r.metadata.namespace, ...egressParents(r).map((p) => p.namespace)])),
  ];
  const live = await fetchPolicyObjects(client, namespaces);
  const existing = live.objects.filter(isRouteObject).flatMap((o) =>
    egressParents(o).map((p) => ({
      kind: o.kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace ?? '',
      port: p.port,
      network: p.name,
      networkNamespace: p.namespace,
    })),
  );
  for (const r of routes) {
    for (const p of egressParents(r)) {
      const why = routeTypeConflict(
        {
          kind: r.kind,
          name: r.metadata.name,
          port: p.port as number,
          network: p.name,
          networkNamespace: p.namespace,
        },
        existing,
      );
      if (why) throw new UsageError(`refusing ${r.kind} ${r.metadata.namespace}/${r.metadata.name}: ${why}`);
    }
  }
}
