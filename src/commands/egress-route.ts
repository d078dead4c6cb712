import { optString, type RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import { route, type RouteType } from '../manifests/build.js';
import { validatePort, type PathType } from '../manifests/validate.js';
import { writeObjects, writeOptions } from './write.js';

const TYPES: RouteType[] = ['http', 'grpc', 'tls', 'tcp'];

/** `egress route http|grpc|tls|tcp NAME`: the full route builder. */
export async function run(input: RawInput, deps: Deps): Promise<number> {
  const o = input.opts;
  const [type, name] = input.args as [string, string];
  if (!TYPES.includes(type as RouteType))
    throw new UsageError(`unknown route type "${type}": use http, grpc, tls or tcp`);
  if (typeof o.port !== 'string')
    throw new UsageError(
      '--port is required: the EgressNetwork port the route attaches to (the original destination port, e.g. 80 or 443)',
    );
  const w = await writeOptions(input, deps.env);
  const m = route({
    type: type as RouteType,
    name,
    namespace: w.namespace,
    network: optString(o, 'network', 'all-egress-traffic'),
    networkNamespace: w.namespace,
    port: validatePort('--port', o.port),
    hostnames: (o.hostname as string[] | undefined) ?? [],
    path: typeof o.path === 'string' ? o.path : undefined,
    pathType: optString(o, 'pathType', 'PathPrefix') as PathType,
    method: typeof o.method === 'string' ? o.method : undefined,
    headers: (o.header as string[] | undefined) ?? [],
    backend: optString(o, 'backend', 'egress'),
  });
  return writeObjects([m], w, input, deps);
}
