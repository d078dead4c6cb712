import { optString, type RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Manifest } from '../manifests/build.js';
import { routeTypeConflict } from '../manifests/build.js';
import { validateNamespace } from '../manifests/validate.js';
import { egressParents } from '../policy/types.js';

/** What every writing command (`allow`, `deny`, `route`) shares: scope, dry-run, output, apply flags. */
export interface WriteOptions {
  dryRun: 'none' | 'client' | 'server';
  output: 'yaml' | 'json' | 'name' | undefined;
  diff: boolean;
  fieldManager: string;
  force: boolean;
  /** Where the objects go: -n, the context's namespace, or the global egress namespace with --global. */
  namespace: string;
  global: boolean;
  egressNamespace: string;
}

/** Reads and checks the shared flags (kubectl's rules for --dry-run, --diff and -o). */
export async function writeOptions(input: RawInput, env: NodeJS.ProcessEnv): Promise<WriteOptions> {
  const o = input.opts;
  const dryRun = o.dryRun === true ? 'client' : (optString(o, 'dryRun', 'none') as WriteOptions['dryRun']);
  const output = typeof o.output === 'string' ? (o.output as WriteOptions['output']) : undefined;
  const diff = o.diff === true;
  if (diff && dryRun !== 'none') throw new UsageError('--diff already changes nothing: drop --dry-run');
  if (diff && output) throw new UsageError('--diff prints a diff: drop -o');
  const egressNamespace = validateNamespace(
    '--egress-namespace',
    optString(o, 'egressNamespace', 'linkerd-egress'),
  );
  const global = o.global === true;
  if (global && typeof o.namespace === 'string')
    throw new UsageError(
      '--global and -n are exclusive: --global writes to the global egress namespace (--egress-namespace)',
    );
  // The kubeconfig (and its YAML parser) is read only when -n does not say the namespace.
  const namespace = global
    ? egressNamespace
    : validateNamespace(
        '-n/--namespace',
        typeof o.namespace === 'string'
          ? o.namespace
          : (await import('../kube/config.js')).defaultNamespace(
              { kubeconfig: o.kubeconfig as string | undefined, context: o.context as string | undefined },
              env,
            ),
      );
  return {
    dryRun,
    output,
    diff,
    fieldManager: optString(o, 'fieldManager', 'egressctl'),
    force: o.forceConflicts !== false,
    namespace,
    global,
    egressNamespace,
  };
}

const refOf = (m: { kind: string; apiVersion: string; metadata: { name: string } }) =>
  `${m.kind.toLowerCase()}.${m.apiVersion.split('/').slice(0, -1).join('/')}/${m.metadata.name}`;

/**
 * Prints, diffs or server-side applies the objects, as the flags say. Routes are first checked against
 * the live routes on the same parent port (mixed types, a second TCPRoute), so nothing is applied that
 * Linkerd would reject.
 */
export async function writeObjects(
  objects: Manifest[],
  w: WriteOptions,
  input: RawInput,
  deps: Deps,
): Promise<number> {
  const { toJson, toYamlDocs } = await import('../manifests/serialize.js');
  if (w.dryRun === 'client') {
    if (w.output === 'name') deps.out.write(objects.map((m) => `${refOf(m)}\n`).join(''));
    else deps.out.write(w.output === 'json' ? toJson(objects) : await toYamlDocs(objects));
    return ExitCode.Ok;
  }
  const { connect } = await import('../kube/rest.js');
  const { applyObjects, fetchLive, renderApplyResults } = await import('../kube/apply.js');
  const client = await connect({ ...input.opts, namespace: w.namespace }, deps.env);
  try {
    await checkRouteConflicts(objects, client);
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
        const d = diffObjects(refOf(m), live, after?.object);
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
    if (w.output === 'yaml') deps.out.write(await toYamlDocs(results.map((r) => r.object)));
    else if (w.output === 'json') deps.out.write(toJson(results.map((r) => r.object)));
    else deps.out.write(renderApplyResults(results, w.dryRun === 'server' ? 'server' : 'none'));
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

async function checkRouteConflicts(
  objects: Manifest[],
  client: import('../kube/rest.js').KubeClient,
): Promise<void> {
  const routes = objects.filter((m) => m.kind.endsWith('Route'));
  if (!routes.length) return;
  const { fetchPolicyObjects } = await import('../kube/objects.js');
  const namespaces = [
    ...new Set(routes.flatMap((r) => [r.metadata.namespace, ...egressParents(r).map((p) => p.namespace)])),
  ];
  const live = await fetchPolicyObjects(client, namespaces);
  const existing = live.objects
    .filter((o) => o.kind.endsWith('Route'))
    .flatMap((o) =>
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
