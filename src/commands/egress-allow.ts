import { Command } from 'commander';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import { parseClusterNetworks, validateName } from '../manifests/validate.js';
import {
  run as writeTrafficPolicy,
  toTrafficPolicyOptions,
  type TrafficPolicyFlags,
  type TrafficPolicyOptions,
} from './egress-deny.js';
import {
  DEFAULT_NETWORK,
  addApplyFlags,
  addClusterNetworksFlag,
  addScopeFlags,
  collect,
  withExamples,
  type CommandInput,
} from './flags.js';
import { toWriteOptions, writeNamespace, writeObjects, type WriteOptions } from './write.js';

/** `egress allow [NAME | URL...]`: with no URL, trafficPolicy Allow; with URLs, one route for each. */
export function command(): Command {
  const cmd = new Command('allow')
    .description('Allow egress: with no URL, set trafficPolicy Allow; with URLs, add a route for each')
    .argument(
      '[url...]',
      'http://host[:port][/path], https://host[:port], grpc://host:port[/svc[/method]], tcp://:port',
    )
    .option('--network-name <name>', 'the EgressNetwork the routes attach to', DEFAULT_NETWORK)
    .option('--exact', 'match http:// paths exactly instead of by prefix')
    .option(
      '--network <cidr>',
      'CIDR[,except=CIDR...] captured by the network (repeatable; no URL form only)',
      collect,
      [],
    );
  addClusterNetworksFlag(cmd);
  addScopeFlags(cmd);
  addApplyFlags(cmd);
  return withExamples(
    cmd,
    `
  egressctl egress allow -n egress-test                             # trafficPolicy: Allow
  egressctl egress allow -n egress-test http://httpbin.org/get      # an HTTPRoute for GET /get
  egressctl egress allow -n egress-test https://httpbin.org         # a TLSRoute on SNI httpbin.org
  egressctl egress allow -n egress-test 'https://*.github.com' grpc://grpcb.in:9000 tcp://:5432`,
  );
}

interface Flags extends TrafficPolicyFlags {
  networkName: string;
  exact?: boolean;
}

/** With URLs: routes on `network`; without: the EgressNetwork's trafficPolicy, as `deny` writes it. */
export type Options =
  | { routes: { urls: string[]; network: string; exact: boolean; write: WriteOptions } }
  | { trafficPolicy: TrafficPolicyOptions };

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  // The shared flags are checked first, as for every writing command.
  const write = toWriteOptions(f, input.global);
  parseClusterNetworks(f.clusterNetworks);
  const urls = input.args.filter((a) => a.includes('://'));
  if (!urls.length) return { trafficPolicy: toTrafficPolicyOptions(input, 'Allow', 'allow') };
  if (f.network.length)
    throw new UsageError(
      '--network sets the EgressNetwork itself: use it without URLs (egress allow --network CIDR)',
    );
  if (urls.length !== input.args.length) {
    const bad = input.args.find((a) => !a.includes('://'));
    throw new UsageError(
      `"${bad}" is not a URL: with URLs, name the network with --network-name (e.g. egress allow --network-name ${bad} https://host)`,
    );
  }
  return {
    routes: {
      urls,
      network: validateName('--network-name', f.networkName),
      exact: f.exact === true,
      write,
    },
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  if ('trafficPolicy' in o) return writeTrafficPolicy(o.trafficPolicy, deps);
  const { urls, network, exact, write } = o.routes;
  const { checkOneTcpRoutePerPort, routeForUrl } = await import('../manifests/build.js');
  const namespace = await writeNamespace(write, deps);
  const routes = urls.map((u) => routeForUrl(u, { namespace, network, networkNamespace: namespace, exact }));
  checkOneTcpRoutePerPort(routes);
  const names = new Set<string>();
  for (const r of routes) {
    if (names.has(r.metadata.name))
      throw new UsageError(
        `two URLs give the same route ${r.kind} ${r.metadata.name}: list each destination once`,
      );
    names.add(r.metadata.name);
  }
  return writeObjects(routes, write, namespace, deps);
}
