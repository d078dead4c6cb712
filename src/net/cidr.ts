import { InvalidInput } from '../errors.js';

/**
 * IPv4/IPv6 addresses and CIDR blocks as bigints: parsing, containment, overlap and block sizes. Pure.
 * Used by manifest validation (networks vs cluster networks) and by the policy engine (which
 * EgressNetwork captures an address, most specific first).
 */
export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`. */
  text: string;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** Parses an IPv4 or IPv6 address; returns undefined when it is not one. */
export function parseIp(text: string): Ip | undefined {
  // The same few addresses are parsed again and again (each flow of a plan, each network of each
  // decision): BigInt arithmetic is worth remembering. Ips are never mutated, so sharing one is safe.
  const known = PARSED.get(text);
  if (known !== undefined || PARSED.has(text)) return known;
  if (PARSED.size >= PARSED_MAX) PARSED.clear();
  const ip = parseIpText(text);
  PARSED.set(text, ip);
  return ip;
}

const PARSED = new Map<string, Ip | undefined>();
const PARSED_MAX = 4096;

function parseIpText(text: string): Ip | undefined {
  const s = text.trim();
  if (s.includes(':')) return parseIpv6(s);
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p.startsWith('0'))) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return { family: 4, value: v };
}

function parseIpv6(s: string): Ip | undefined {
  let text = s;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const ip = parseIpText(v4[1] as string);
    if (!ip) return undefined;
    text = `${text.slice(0, v4.index)}${(ip.value >> 16n).toString(16)}:${(ip.value & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(`0x${g}`);
  }
  return { family: 6, value: v };
}

/** True when `text` is an IPv4 or IPv6 address. */
export function isIp(text: string): boolean {
  return parseIp(text) !== undefined;
}

/** Formats an address canonically (IPv6 compressed per RFC 5952). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((ip.value >> s) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Parses `a.b.c.d/n` or `x::/n`. Throws an InvalidInput whose message says what is wrong, e.g.
 * `"10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)`. A bare address is a /32 or /128.
 *
 * Manifests we write refuse host bits; `parseNetworkCidr` reads them as the policy controller does.
 */
export function parseCidr(text: string): Cidr {
  return readCidr(text, false);
}

/**
 * `parseCidr`, but a block with host bits set is read as its network (`192.168.0.1/16` is
 * 192.168.0.0/16), as the policy controller reads an EgressNetwork's networks: they are `ipnet::IpNet`,
 * whose parser keeps the address and whose `contains` and `hosts` use the network
 * (linkerd2 policy-controller/k8s/api/src/policy/network.rs; its own tests write `192.168.0.1/16`).
 */
export function parseNetworkCidr(text: string): Cidr {
  return readCidr(text, true);
}

function readCidr(text: string, ignoreHostBits: boolean): Cidr {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const ip = parseIp(addr);
  if (!ip) throw new InvalidInput(`"${text}" is not a CIDR: "${addr}" is not an IPv4 or IPv6 address`);
  const bits = BITS[ip.family];
  const prefixText = slash < 0 ? String(bits) : s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    throw new InvalidInput(`"${text}" is not a CIDR: the prefix length must be 0 to ${bits}`);
  }
  const prefix = Number(prefixText);
  const base = ip.value & mask(ip.family, prefix);
  const network = `${formatIp({ family: ip.family, value: base })}/${prefix}`;
  if (base !== ip.value && !ignoreHostBits) {
    throw new InvalidInput(`"${text}" has host bits set (did you mean ${network}?)`);
  }
  return { family: ip.family, base, prefix, text: network };
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The number of addresses in the block. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(BITS[c.family] - c.prefix);
}

/** True when the address lies in the block. */
export function cidrContains(c: Cidr, ip: Ip): boolean {
  return c.family === ip.family && (ip.value & mask(c.family, c.prefix)) === c.base;
}

/** True when `outer` contains all of `inner`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.prefix <= inner.prefix &&
    cidrContains(outer, { family: inner.family, value: inner.base })
  );
}

/** True when the two blocks share at least one address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrCovers(a, b) || cidrCovers(b, a);
}

/**
 * A network as an EgressNetwork lists it: a block minus exceptions. `networkSize` is what Linkerd
 * compares to pick the most specific network.
 */
export interface NetworkBlock {
  cidr: Cidr;
  except: Cidr[];
}

/** True when the address is in the block and in none of its exceptions. */
export function networkContains(n: NetworkBlock, ip: Ip): boolean {
  return cidrContains(n.cidr, ip) && !n.except.some((e) => cidrContains(e, ip));
}

const USIZE = 64;

/**
 * The size the policy controller gives a block: `ipnet`'s `hosts().count()` as a 64-bit `usize`
 * (linkerd2 policy-controller/k8s/api/src/policy/network.rs `Cidr::block_size`; ipnet src/ipnet.rs
 * `Ipv4Net::hosts`, src/ipext.rs `Ipv6AddrRange::count`).
 * - IPv4 below /31 leaves out the network and broadcast addresses: a /24 is 254, a /25 126, a /31 2,
 *   a /32 (or a bare address) 1.
 * - IPv6 counts every address, but the count is a `usize`: ipnet "emulates standard overflow
 *   behaviour", and the controller is a release build (`[profile.release]` sets no `overflow-checks`,
 *   policy-controller/Dockerfile builds `BUILD_TYPE=release`), so it wraps modulo 2^64. Every IPv6
 *   block of /64 or shorter therefore counts 0 (`::/0` too), a /65 2^63, a /120 256, a /128 1. We
 *   follow that: it is what decides a tie between IPv6 networks in a cluster (64-bit nodes; a 32-bit
 *   arm build would wrap at 2^32). docs/semantics.md says what it means for IPv6 EgressNetworks.
 */
export function hostCount(c: Cidr): bigint {
  const size = cidrSize(c);
  if (c.family === 4) return c.prefix < 31 ? size - 2n : size;
  return BigInt.asUintN(USIZE, size);
}

/**
 * A network's size as the policy controller compares it: the block's `hostCount` minus the sum of
 * its exceptions' (`Network::block_size`: "We assume that exceptions do not overlap"). Exceptions are
 * not clipped to the block nor merged when they nest, and the `usize` arithmetic wraps as in the
 * release build: exceptions larger than the block leave a huge size, which loses every comparison.
 */
export function networkSize(n: NetworkBlock): bigint {
  const except = n.except.reduce((sum, e) => BigInt.asUintN(USIZE, sum + hostCount(e)), 0n);
  return BigInt.asUintN(USIZE, hostCount(n.cidr) - except);
}

/**
 * The cluster networks that `n` overlaps without excepting them: Linkerd marks such an EgressNetwork
 * `Accepted=False` (EgressReasonNetworkOverlap) and rejects its routes.
 */
export function unexceptedOverlaps(n: NetworkBlock, clusterNetworks: Cidr[]): Cidr[] {
  return clusterNetworks.filter((c) => cidrOverlaps(n.cidr, c) && !n.except.some((e) => cidrCovers(e, c)));
}
