import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import type { RouteOptions, RouteType } from '../manifests/build.js';
import { validatePort, type PathType } from '../manifests/validate.js';
import {
  DEFAULT_NETWORK,
  addApplyFlags,
  addScopeFlags,
  collect,
  withExamples,
  type CommandInput,
} from './flags.js';
import { toWriteOptions, writeNamespace, writeObjects, type WriteFlags, type WriteOptions } from './write.js';

const TYPES: RouteType[] = ['http', 'grpc', 'tls', 'tcp'];

/** `egress route http|grpc|tls|tcp NAME`: the full route builder. */
export function command(): Command {
  const cmd = new Command('route')
    .description('Build any Gateway API route on an EgressNetwork (http, grpc, tls, tcp)')
    .argument('<type>', 'http, grpc, tls or tcp')
    .argument('<name>', 'route name')
    .option('--network <name>', 'the parent EgressNetwork', DEFAULT_NETWORK)
    .option('--port <n>', 'the parent port (the original destination port)')
    .option('--hostname <host>', 'hostname to match, wildcards allowed (repeatable)', collect, [])
    .option('--path <path>', 'HTTP path to match')
    .addOption(
      new Option('--path-type <type>', 'how --path matches')
        .choices(['Exact', 'PathPrefix', 'RegularExpression'])
        .default('PathPrefix'),
    )
    .option('--method <method>', 'HTTP method, or gRPC service[/method]')
    .option('--header <k=v>', 'header to match (repeatable)', collect, [])
    .option(
      '--backend <ref>',
      'svc/NAME:PORT (redirect to a Service) or egress (on to the original host)',
      'egress',
    );
  addScopeFlags(cmd);
  addApplyFlags(cmd);
  return withExamples(
    cmd,
    `
  egressctl egress route http httpbin-get -n egress-test --port 80 --hostname httpbin.org --path /get --method GET
  egressctl egress route tls tls-egress -n egress-test --port 443 --hostname httpbin.org
  egressctl egress route http unencrypted-http -n egress-test --port 80 --backend svc/internal-egress:80
  egressctl egress route tcp postgres -n egress-test --port 5432 --dry-run=client -o yaml`,
  );
}

interface Flags extends WriteFlags {
  network: string;
  port?: string;
  hostname: string[];
  path?: string;
  pathType: PathType;
  method?: string;
  header: string[];
  backend: string;
}

export interface Options {
  /** The route as the builder takes it; its namespace (and the network's) is resolved in `run`. */
  route: Omit<RouteOptions, 'namespace' | 'networkNamespace'>;
  write: WriteOptions;
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  const [type, name] = input.args as [string, string];
  if (!TYPES.includes(type as RouteType))
    throw new UsageError(`unknown route type "${type}": use http, grpc, tls or tcp`);
  if (f.port === undefined)
    throw new UsageError(
      '--port is required: the EgressNetwork port the route attaches to (the original destination port, e.g. 80 or 443)',
    );
  const write = toWriteOptions(f, input.global);
  return {
    route: {
      type: type as RouteType,
      name,
      network: f.network,
      port: validatePort('--port', f.port),
      hostnames: f.hostname,
      path: f.path,
      pathType: f.pathType,
      method: f.method,
      headers: f.header,
      backend: f.backend,
    },
    write,
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { route } = await import('../manifests/build.js');
  const namespace = await writeNamespace(o.write, deps);
  const m = route({ ...o.route, namespace, networkNamespace: namespace });
  return writeObjects([m], o.write, namespace, deps);
}
