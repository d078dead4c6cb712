import { UsageError } from '../errors.js';
import { cidrCovers, isIp, parseCidr, type Cidr, type NetworkBlock } from '../net/cidr.js';

/**
 * Input checks made before anything is built or sent. Each error names the flag and the rule, e.g.
 * `invalid --hostname "foo_bar.com": must be an RFC 1123 hostname, optionally with a leading "*." label`.
 * The rules are the CRDs' own (patterns and CEL rules in shared/crds) and Linkerd's admission checks.
 */

/** Long values (a 1 KiB path, a 4 KiB header) are cut so the error stays one readable line. */
const shown = (v: string) => (v.length > 80 ? `${v.slice(0, 77)}...` : v);

const fail = (flag: string, value: string, rule: string): never => {
  throw new UsageError(`invalid ${flag} "${shown(value)}": ${rule}`);
};

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Gateway API `Hostname` (RFC 1123, an optional leading `*.` label, no IPs). */
const GATEWAY_HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const GRPC_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
export const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;

/** An object name (DNS-1123 subdomain, at most 253 characters). */
export function validateName(flag: string, v: string): string {
  if (v.length > 253 || !DNS1123_SUBDOMAIN.test(v)) {
    fail(
      flag,
      v,
      "must be a DNS-1123 name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    );
  }
  return v;
}

/** A namespace (DNS-1123 label, at most 63 characters). */
export function validateNamespace(flag: string, v: string): string {
  if (v.length > 63 || !DNS1123_LABEL.test(v))
    fail(flag, v, "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-'");
  return v;
}

/** A Gateway API hostname: RFC 1123, optionally `*.` first, never an IP address. */
export function validateHostname(flag: string, v: string): string {
  if (isIp(v))
    fail(
      flag,
      v,
      'Gateway API hostnames cannot be IP addresses; to allow an address, use egress allow tcp://:PORT or --network',
    );
  if (v.length > 253 || !GATEWAY_HOSTNAME.test(v)) {
    fail(
      flag,
      v,
      "must be an RFC 1123 hostname (lowercase letters, digits, '-' and '.'), optionally with a leading \"*.\" wildcard label (e.g. *.example.com)",
    );
  }
  return v;
}

export function validatePort(flag: string, v: string | number): number {
  const s = String(v);
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535)
    fail(flag, s, 'must be a port number from 1 to 65535');
  return Number(s);
}

export const PATH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'] as const;
export type PathType = (typeof PATH_TYPES)[number];

/** HTTPRoute path rules (the CRD's CEL rules for Exact and PathPrefix; a regex must compile). */
export function validatePath(flag: string, v: string, type: PathType): string {
  if (!PATH_TYPES.includes(type)) fail('--path-type', type, `must be one of ${PATH_TYPES.join(', ')}`);
  if (v.length > 1024) fail(flag, v, 'must be at most 1024 characters');
  if (type === 'RegularExpression') {
    try {
      new RegExp(v);
    } catch (e) {
      fail(flag, v, `is not a valid regular expression (${(e as Error).message})`);
    }
    return v;
  }
  if (!v.startsWith('/')) fail(flag, v, "must be an absolute path starting with '/'");
  for (const bad of ['//', '/./', '/../', '%2f', '%2F', '#'])
    if (v.includes(bad)) fail(flag, v, `must not contain '${bad}'`);
  for (const bad of ['/..', '/.']) if (v.endsWith(bad)) fail(flag, v, `must not end with '${bad}'`);
  if (!PATH_CHARS.test(v))
    fail(
      flag,
      v,
      "may contain only URL path characters (letters, digits, -/._~!$&'()*+,;=:@ and %XX escapes)",
    );
  return v;
}

/** `k=v` request headers (the header name per Gateway API's `HTTPHeaderName`). */
export function validateHeader(flag: string, v: string): { name: string; value: string } {
  const eq = v.indexOf('=');
  if (eq <= 0) fail(flag, v, 'want NAME=VALUE, e.g. x-tenant=blue');
  const name = v.slice(0, eq);
  const value = v.slice(eq + 1);
  if (name.length > 256 || !HEADER_NAME.test(name))
    fail(flag, v, 'the header name may contain only RFC 7230 token characters');
  if (value.length > 4096) fail(flag, v, 'the header value must be at most 4096 characters');
  return { name, value };
}

/**
 * `k=v...` header matches of a route: each as {@link validateHeader}, plus the CRD's rules for
 * matches: a value of at least one character, and each name once (header names are case-insensitive and
 * the list is keyed by name, so the API server would refuse a repeated one).
 */
export function validateHeaderMatches(flag: string, vs: string[]): { name: string; value: string }[] {
  const seen = new Set<string>();
  return vs.map((v) => {
    const h = validateHeader(flag, v);
    if (h.value === '') fail(flag, v, 'the header value must not be empty (a match needs a value)');
    if (seen.has(h.name.toLowerCase()))
      fail(flag, v, `the header ${h.name} is already matched: give each header once`);
    seen.add(h.name.toLowerCase());
    return h;
  });
}

/**
 * Exact query parameter matches of an HTTPRoute, with the CRD's rules (HTTPQueryParamMatch): a token
 * name, a value of 1 to 1024 characters, each name once (the list is keyed by name), at most 16.
 */
export function validateQueryParams(
  flag: string,
  pairs: readonly (readonly [string, string])[],
): { name: string; value: string }[] {
  if (pairs.length > 16)
    fail(
      flag,
      pairs.map(([n, v]) => `${n}=${v}`).join('&'),
      `at most 16 query parameters (got ${pairs.length})`,
    );
  const seen = new Set<string>();
  return pairs.map(([name, value]) => {
    const shownPair = value === '' ? name : `${name}=${value}`;
    if (name.length > 256 || !HEADER_NAME.test(name))
      fail(flag, shownPair, 'the parameter name may contain only RFC 7230 token characters');
    if (value === '')
      fail(flag, shownPair, `a route matches a query parameter by its value: give one, e.g. ${name}=VALUE`);
    if (value.length > 1024) fail(flag, shownPair, 'the value must be at most 1024 characters');
    if (seen.has(name))
      fail(flag, shownPair, `the parameter ${name} is already matched: give each parameter once`);
    seen.add(name);
    return { name, value };
  });
}

/** Gateway API allows at most 16 hostnames per route. */
export function validateHostnames(flag: string, vs: string[]): string[] {
  const hs = vs.map((h) => validateHostname(flag, h));
  if (hs.length > 16) fail(flag, hs.join(','), `at most 16 hostnames per route (got ${hs.length})`);
  const dup = hs.find((h, i) => hs.indexOf(h) !== i);
  if (dup !== undefined) fail(flag, dup, 'is given twice');
  return hs;
}

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** A Service name (DNS-1035 label): a backendRef to any other name can never resolve. */
export function validateServiceName(flag: string, whole: string, v: string): string {
  if (v.length > 63 || !DNS1035_LABEL.test(v))
    fail(
      flag,
      whole,
      `the Service name "${v}" must be a DNS-1035 label: at most 63 lowercase letters, digits and '-', starting with a letter`,
    );
  return v;
}

export function validateMethod(flag: string, v: string): (typeof HTTP_METHODS)[number] {
  const m = v.toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(m))
    fail(flag, v, `must be one of ${HTTP_METHODS.join(', ')}`);
  return m as (typeof HTTP_METHODS)[number];
}

/** `service[/method]` for gRPC matches. */
export function validateGrpcMethod(flag: string, v: string): { service?: string; method?: string } {
  const [service, method, extra] = v.split('/');
  if (extra !== undefined || (!service && !method))
    fail(flag, v, 'want SERVICE[/METHOD], e.g. grpcbin.GRPCBin/Index');
  if (service && !GRPC_SERVICE.test(service)) fail(flag, v, 'the service must be a dotted gRPC service name');
  if (method && !GRPC_METHOD.test(method)) fail(flag, v, 'the method must be a gRPC method name');
  return { ...(service ? { service } : {}), ...(method ? { method } : {}) };
}

/**
 * `CIDR[,except=CIDR...]` as `--network` takes it, with Linkerd's admission rules: an exception must lie
 * inside its CIDR and must not negate all of it.
 */
export function parseNetworkFlag(flag: string, v: string): NetworkBlock {
  const [head, ...rest] = v.split(',');
  const cidr = toCidr(flag, v, head ?? '');
  const except: Cidr[] = [];
  for (const part of rest) {
    const m = /^except=(.+)$/.exec(part.trim());
    if (!m) fail(flag, v, 'want CIDR[,except=CIDR...], e.g. 0.0.0.0/0,except=10.0.0.0/8');
    const e = toCidr(flag, v, (m as RegExpExecArray)[1] as string);
    if (!cidrCovers(cidr, e)) {
      fail(flag, v, `the exception ${e.text} is not inside ${cidr.text} (Linkerd's admission rejects it)`);
    }
    if (e.prefix === cidr.prefix)
      fail(flag, v, `the exception ${e.text} negates all of ${cidr.text} (Linkerd's admission rejects it)`);
    except.push(e);
  }
  return { cidr, except };
}

function toCidr(flag: string, whole: string, text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (e) {
    return fail(flag, whole, (e as Error).message);
  }
}

/** The comma-separated cluster networks. */
export function parseClusterNetworks(v: string): Cidr[] {
  return v
    .split(',')
    .filter(Boolean)
    .map((c) => toCidr('--cluster-networks', v, c.trim()));
}
