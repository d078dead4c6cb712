import { optString, type RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import { checkOneTcpRoutePerPort, egressNetwork, routeForUrl } from '../manifests/build.js';
import { parseClusterNetworks, parseNetworkFlag, validateName } from '../manifests/validate.js';
import { writeObjects, writeOptions } from './write.js';

/**
 * `egress deny [NAME]` and `egress allow [NAME | URL...]`: with no URL, set the EgressNetwork's
 * trafficPolicy (creating it if missing; other fields are kept, since server-side apply sends only
 * trafficPolicy); with URLs, add one route per destination on the network.
 */
export async function run(input: RawInput, deps: Deps): Promise<number> {
  const o = input.opts;
  const w = await writeOptions(input, deps.env);
  const clusterNetworks = parseClusterNetworks(optString(o, 'clusterNetworks', ''));
  const networks = ((o.network as string[] | undefined) ?? []).map((n) => parseNetworkFlag('--network', n));
  const urls = input.command === 'allow' ? input.args.filter((a) => a.includes('://')) : [];
  if (urls.length) {
    if (networks.length)
      throw new UsageError(
        '--network sets the EgressNetwork itself: use it without URLs (egress allow --network CIDR)',
      );
    if (urls.length !== input.args.length) {
      const bad = input.args.find((a) => !a.includes('://'));
      throw new UsageError(
        `"${bad}" is not a URL: with URLs, name the network with --network-name (e.g. egress allow --network-name ${bad} https://host)`,
      );
    }
    const network = validateName('--network-name', optString(o, 'networkName', 'all-egress-traffic'));
    const routes = urls.map((u) =>
      routeForUrl(u, {
        namespace: w.namespace,
        network,
        networkNamespace: w.namespace,
        exact: o.exact === true,
      }),
    );
    checkOneTcpRoutePerPort(routes);
    const names = new Set<string>();
    for (const r of routes) {
      if (names.has(r.metadata.name))
        throw new UsageError(
          `two URLs give the same route ${r.kind} ${r.metadata.name}: list each destination once`,
        );
      names.add(r.metadata.name);
    }
    return writeObjects(routes, w, input, deps);
  }
  if (input.args.length > 1)
    throw new UsageError(
      `egress ${input.command} takes one EgressNetwork name (got ${input.args.join(' ')})`,
    );
  const name = validateName('NAME', input.args[0] ?? 'all-egress-traffic');
  const net = egressNetwork({
    name,
    namespace: w.namespace,
    trafficPolicy: input.command === 'deny' ? 'Deny' : 'Allow',
    networks,
    clusterNetworks,
  });
  return writeObjects([net], w, input, deps);
}
