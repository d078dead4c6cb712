import type { RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import { deleteObjects } from '../kube/apply.js';
import { defaultNamespace } from '../kube/config.js';
import { connect } from '../kube/rest.js';
import { apiVersionOf, objectRef, resourceByName, type KubeObject } from '../kube/resources.js';

/** Parses `kind/name` arguments into object references, before anything touches the cluster. */
export function toDeleteRefs(args: string[], namespace: string): KubeObject[] {
  if (args.length === 0)
    throw new UsageError('nothing to delete: give KIND/NAME, e.g. httproute/httpbin-get');
  return args.map((a) => {
    const slash = a.indexOf('/');
    const r = slash > 0 ? resourceByName(a.slice(0, slash)) : undefined;
    const name = a.slice(slash + 1);
    if (!r || r.group === '') {
      throw new UsageError(
        `cannot delete "${a}": want KIND/NAME with KIND one of egressnetwork, httproute, grpcroute, tlsroute, tcproute (or plural.group, e.g. httproutes.policy.linkerd.io)`,
      );
    }
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
      throw new UsageError(`cannot delete "${a}": "${name}" is not a valid object name`);
    return { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { name, namespace } };
  });
}

export async function run(input: RawInput, deps: Deps): Promise<number> {
  const o = input.opts;
  const dryRun = o.dryRun === true ? 'client' : ((o.dryRun as string | undefined) ?? 'none');
  toDeleteRefs(input.args, 'default'); // usage errors before reading any kubeconfig
  if (dryRun === 'client') {
    const ns = defaultNamespace(
      {
        namespace: o.namespace as string | undefined,
        kubeconfig: o.kubeconfig as string | undefined,
        context: o.context as string | undefined,
      },
      deps.env,
    );
    for (const obj of toDeleteRefs(input.args, ns)) deps.out.write(`${objectRef(obj)} deleted (dry run)\n`);
    return 0;
  }
  const client = await connect(o, deps.env);
  try {
    const objs = toDeleteRefs(input.args, client.namespace);
    return await deleteObjects(
      client,
      objs,
      { dryRun: dryRun === 'server' ? 'server' : 'none', ignoreNotFound: o.ignoreNotFound === true },
      deps,
    );
  } finally {
    client.close();
  }
}
