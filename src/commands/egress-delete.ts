import { Command } from 'commander';
import type { Deps } from '../deps.js';
import { ExitCode, UsageError } from '../errors.js';
import {
  apiVersionOf,
  deletableKindsText,
  objectRef,
  resourceByName,
  type KubeObject,
} from '../kube/resources.js';
import { connectSettings, namespaceFlag, resolveNamespace, type GlobalOptions } from '../options/global.js';
import { addNamespaceFlag, addTimeoutFlag, dryRunOption, withExamples, type CommandInput } from './flags.js';

/** `egress delete KIND/NAME...`: delete EgressNetworks and routes. */
export function command(): Command {
  const cmd = new Command('delete')
    .description('Delete an EgressNetwork or a route')
    .argument(
      '<kind/name...>',
      'egressnetwork/NAME, httproute/NAME, grpcroute/NAME, tlsroute/NAME, tcproute/NAME',
    )
    .option(
      '--ignore-not-found',
      'treat a missing object as deleted (without it, a missing object is an error, exit 3)',
    );
  addNamespaceFlag(cmd);
  cmd.addOption(
    dryRunOption(
      'none, client (contact nothing: the objects are not checked to exist) or server (the server checks and deletes nothing)',
    ),
  );
  addTimeoutFlag(cmd, '60s');
  return withExamples(
    cmd,
    `
  egressctl egress delete -n egress-test httproute/httpbin-get
  egressctl egress delete -n egress-test egressnetwork/all-egress-traffic --dry-run=server`,
  );
}

interface Flags {
  ignoreNotFound?: boolean;
  namespace?: string;
  dryRun?: 'none' | 'client' | 'server';
}

/** One object to delete; its namespace is the command's, resolved in `run`. */
export interface DeleteTarget {
  apiVersion: string;
  kind: string;
  name: string;
}

export interface Options {
  global: GlobalOptions;
  targets: DeleteTarget[];
  namespace: string | undefined;
  dryRun: 'none' | 'client' | 'server';
  ignoreNotFound: boolean;
}

/** Parses `kind/name` arguments into object references, before anything touches the cluster. */
export function toDeleteTargets(args: string[]): DeleteTarget[] {
  if (args.length === 0)
    throw new UsageError('nothing to delete: give KIND/NAME, e.g. httproute/httpbin-get');
  return args.map((a) => {
    const slash = a.indexOf('/');
    const r = slash > 0 ? resourceByName(a.slice(0, slash)) : undefined;
    const name = a.slice(slash + 1);
    if (!r || r.group === '') {
      throw new UsageError(`cannot delete "${a}": want KIND/NAME with KIND one of ${deletableKindsText()}`);
    }
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
      throw new UsageError(`cannot delete "${a}": "${name}" is not a valid object name`);
    return { apiVersion: apiVersionOf(r), kind: r.kind, name };
  });
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  return {
    global: input.global,
    targets: toDeleteTargets(input.args),
    namespace: namespaceFlag(f.namespace),
    dryRun: f.dryRun ?? 'none',
    ignoreNotFound: f.ignoreNotFound === true,
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const namespace = await resolveNamespace(o.global, o.namespace, deps.env);
  const objs: KubeObject[] = o.targets.map((t) => ({
    apiVersion: t.apiVersion,
    kind: t.kind,
    metadata: { name: t.name, namespace },
  }));
  if (o.dryRun === 'client') {
    const { renderDeleteResults } = await import('../render/apply.js');
    deps.out.write(renderDeleteResults(objs.map(objectRef), 'client'));
    return ExitCode.Ok;
  }
  const { deleteObjects } = await import('../kube/apply.js');
  const client = await deps.kube(connectSettings(o.global, namespace));
  try {
    return await deleteObjects(
      client,
      objs,
      { dryRun: o.dryRun === 'server' ? 'server' : 'none', ignoreNotFound: o.ignoreNotFound },
      deps,
    );
  } finally {
    client.close();
  }
}
