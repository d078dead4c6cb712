import { byteOrder, createdAt, ns, type PolicyObject } from './types.js';

/**
 * Which EgressNetworks apply to a client namespace. Linkerd's policy controller looks for networks in the
 * client's own namespace first; only when it has none do the networks of the global egress namespace
 * (`linkerd-egress` unless configured) apply. So one namespace-local network shadows every global one,
 * even for destinations it does not cover (linkerd2: `resolve_egress_network` in
 * policy-controller/k8s/index/src/outbound/index/egress_network.rs). Pure.
 */

/** The networks that apply to clients in `clientNamespace`: its own, or else the global namespace's. */
export function applicableNetworks<T>(
  networks: readonly T[],
  clientNamespace: string,
  globalNamespace: string,
  namespaceOf: (n: T) => string,
): T[] {
  const local = networks.filter((n) => namespaceOf(n) === clientNamespace);
  return local.length ? local : networks.filter((n) => namespaceOf(n) === globalNamespace);
}

/** A namespace whose own networks hide the global ones from its clients. */
export interface Shadowing {
  namespace: string;
  /** Names of the global networks that do not apply there. */
  shadowed: string[];
}

/** Every namespace (other than the global one) whose networks shadow the global namespace's, sorted. */
export function shadowingNamespaces<T>(
  networks: readonly T[],
  globalNamespace: string,
  namespaceOf: (n: T) => string,
  nameOf: (n: T) => string,
): Shadowing[] {
  const global = networks.filter((n) => namespaceOf(n) === globalNamespace).map(nameOf);
  if (global.length === 0) return [];
  const locals = [...new Set(networks.map(namespaceOf).filter((namespace) => namespace !== globalNamespace))];
  return locals.map((namespace) => ({ namespace, shadowed: global }));
}

/** An EgressNetwork that contains the address, with the size of its smallest network that does. */
export interface MatchedNetwork {
  n: PolicyObject;
  size: bigint;
}

/**
 * Best first: the smallest size (`networkSize` in net/cidr.ts), then the oldest, then namespace, then
 * name, in byte order (linkerd2 `compare_matched_egress_network` in
 * policy-controller/k8s/index/src/outbound/index/egress_network.rs). The creation time is an
 * `Option<Timestamp>` there, and `None` orders before every `Some`: a network without a
 * creationTimestamp (a file) counts as the OLDEST and wins a tie. Routes are ordered the other way
 * round (`byAge` in ./types.ts).
 */
export function compareNetworks(a: MatchedNetwork, b: MatchedNetwork): number {
  if (a.size !== b.size) return a.size < b.size ? -1 : 1;
  const ta = createdAt(a.n);
  const tb = createdAt(b.n);
  if (ta !== tb) return ta === undefined ? -1 : tb === undefined ? 1 : ta - tb;
  return byteOrder(ns(a.n), ns(b.n)) || byteOrder(a.n.metadata.name, b.n.metadata.name);
}
