import { Command } from 'commander';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';
import { parseClusterNetworks, parseNetworkFlag, validateName } from '../manifests/validate.js';
import type { Cidr, NetworkBlock } from '../net/cidr.js';
import {
  DEFAULT_NETWORK,
  addApplyFlags,
  addClusterNetworksFlag,
  addScopeFlags,
  collect,
  withExamples,
  type CommandInput,
} from './flags.js';
import { toWriteOptions, writeNamespace, writeObjects, type WriteFlags, type WriteOptions } from './write.js';

/** `egress deny [NAME]`: set an EgressNetwork's trafficPolicy to Deny, creating it if missing. */
export function command(): Command {
  const cmd = new Command('deny')
    .description("Set an EgressNetwork's trafficPolicy to Deny (creating it if missing)")
    .argument('[name]', 'EgressNetwork name', DEFAULT_NETWORK)
    .option('--network <cidr>', 'CIDR[,except=CIDR...] captured by the network (repeatable)', collect, []);
  addClusterNetworksFlag(cmd);
  addScopeFlags(cmd);
  addApplyFlags(cmd);
  return withExamples(
    cmd,
    `
  egressctl egress deny -n egress-test
  egressctl egress deny -n egress-test --dry-run=client -o yaml | kubectl apply -f -
  egressctl egress deny --global --network 0.0.0.0/0,except=10.0.0.0/8`,
  );
}

/** The flags of a command that sets an EgressNetwork's trafficPolicy (`deny`, and `allow` with no URL). */
export interface TrafficPolicyFlags extends WriteFlags {
  network: string[];
  clusterNetworks: string;
}

/** One EgressNetwork with its trafficPolicy: what `deny NAME` and `allow [NAME]` write. */
export interface TrafficPolicyOptions {
  name: string;
  trafficPolicy: 'Allow' | 'Deny';
  networks: NetworkBlock[];
  clusterNetworks: Cidr[];
  write: WriteOptions;
}

export type Options = TrafficPolicyOptions;

/** Checks NAME, --network and --cluster-networks; shared with `allow` with no URL. */
export function toTrafficPolicyOptions(
  input: CommandInput,
  trafficPolicy: TrafficPolicyOptions['trafficPolicy'],
  verb: string,
): TrafficPolicyOptions {
  const f = input.opts as unknown as TrafficPolicyFlags;
  if (input.args.length > 1)
    throw new UsageError(`egress ${verb} takes one EgressNetwork name (got ${input.args.join(' ')})`);
  return {
    name: validateName('NAME', input.args[0] ?? DEFAULT_NETWORK),
    trafficPolicy,
    networks: f.network.map((n) => parseNetworkFlag('--network', n)),
    clusterNetworks: parseClusterNetworks(f.clusterNetworks),
    write: toWriteOptions(f, input.global),
  };
}

export function validate(input: CommandInput): Options {
  return toTrafficPolicyOptions(input, 'Deny', 'deny');
}

/**
 * Writes the EgressNetwork. Other fields of a live one are kept: server-side apply sends only what we
 * set.
 */
export async function run(o: TrafficPolicyOptions, deps: Deps): Promise<number> {
  const { egressNetwork } = await import('../manifests/build.js');
  const namespace = await writeNamespace(o.write, deps);
  const net = egressNetwork({
    name: o.name,
    namespace,
    trafficPolicy: o.trafficPolicy,
    networks: o.networks,
    clusterNetworks: o.clusterNetworks,
  });
  return writeObjects([net], o.write, namespace, deps);
}
