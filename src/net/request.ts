import { InvalidInput } from '../errors.js';
import { formatIp, parseIp } from './cidr.js';

/**
 * The one grammar for a request or a destination written as a URL: `egress allow URL`, `egress check
 * URL`, the `request:` of a cases file and the sandbox's traffic all read it here. Pure.
 *
 *   http://HOST[:PORT][/PATH][?QUERY]     port 80 by default
 *   https://HOST[:PORT][/PATH][?QUERY]    port 443 by default
 *   grpc://HOST:PORT[/SERVICE[/METHOD]]   a port is required; no query
 *   tcp://[HOST]:PORT                     a port is required; no path, no query; the host may be left out
 *
 * HOST is a DNS name (lower-cased: names are case-insensitive, RFC 4343), an IPv4 address, or an IPv6
 * address in brackets (`[2001:db8::1]`, returned without brackets, in its canonical form). One trailing
 * dot is dropped: `example.com.` is the same host, and linkerd2-proxy strips it before matching too
 * (linkerd/http/route/src/http/match/host.rs). A `*.` wildcard first label is a set of hosts: it is
 * accepted only in `destination` mode (what `egress allow` turns into a route hostname), never in
 * `request` mode, since one request goes to one host.
 *
 * Refused in both modes, each with a message naming what is wrong: user info (`user@`: no route can
 * match it), a fragment (`#...`: clients never send it, so nothing can match it), a port outside
 * 1-65535, a host that is not one of the above. Route rules (Gateway API hostnames are never IPs, a
 * TCPRoute has no host, TLS is matched by SNI only) are not grammar: the route builders check them.
 */

export type Scheme = 'http' | 'https' | 'grpc' | 'tcp';
export const SCHEMES: readonly Scheme[] = ['http', 'https', 'grpc', 'tcp'];

/**
 * `request`: one concrete request (check, cases files, the sandbox). `destination`: what a route
 * lets through (`egress allow`), where the host may be a `*.` wildcard.
 */
export type RequestMode = 'request' | 'destination';

export type HostKind = 'name' | 'wildcard' | 'ipv4' | 'ipv6' | 'none';

export interface ParsedRequest {
  scheme: Scheme;
  /** Lower-case name, `*.name`, IPv4, IPv6 without brackets, or '' (only `tcp://:PORT`). */
  host: string;
  hostKind: HostKind;
  /** The URL's port, or the scheme's default (http 80, https 443). */
  port: number;
  /** As written (percent escapes kept), '' when the URL has none. */
  path: string;
  /** `?a=1&b=2` as ordered, decoded pairs (form-urlencoded, as linkerd2-proxy decodes them). */
  query: [name: string, value: string][];
}

const DEFAULT_PORT: Record<Scheme, number | undefined> = {
  http: 80,
  https: 443,
  grpc: undefined,
  tcp: undefined,
};

const FORMS: Record<RequestMode, string> = {
  request:
    'http://host[:port][/path][?query], https://host[:port][/path], grpc://host:port[/service/method] or tcp://[host]:port',
  destination:
    'http://host[:port][/path], https://host[:port], grpc://host:port[/service[/method]] or tcp://:port',
};

const EXAMPLE: Record<Scheme, string> = {
  http: 'http://httpbin.org',
  https: 'https://httpbin.org',
  grpc: 'grpc://grpcb.in:9000',
  tcp: 'tcp://:5432',
};

/** Reads `text` as a request (`mode` `request`) or a route destination (`destination`). */
export function parseRequest(text: string, mode: RequestMode): ParsedRequest {
  const fail = (what: string): never => {
    throw new InvalidInput(`"${cut(text)}": ${what}`);
  };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(text);
  if (!m) throw new InvalidInput(`cannot read "${cut(text)}" as a ${mode}: use ${FORMS[mode]}`);
  const schemeText = (m[1] as string).toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(schemeText))
    throw new InvalidInput(
      `unsupported scheme "${cut(schemeText)}" in "${cut(text)}": use http, https, grpc or tcp`,
    );
  const scheme = schemeText as Scheme;
  const rest = m[2] as string;

  const hash = rest.indexOf('#');
  if (hash >= 0)
    fail(`a fragment ("${rest.slice(hash)}") is never sent by a client, so nothing can match it; drop it`);
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  const qmark = tail.indexOf('?');
  const path = qmark < 0 ? tail : tail.slice(0, qmark);
  const queryText = qmark < 0 ? undefined : tail.slice(qmark + 1);

  const at = authority.lastIndexOf('@');
  if (at >= 0) fail(`user info ("${authority.slice(0, at + 1)}") cannot be matched by any route; drop it`);

  // Host and port. IPv6 needs its brackets: otherwise its colons read as a port.
  let hostText: string;
  let portText: string | undefined;
  let bracketed = false;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) fail(`host "${authority}" has no closing "]"`);
    hostText = authority.slice(1, close);
    bracketed = true;
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':'))
      fail(`"${after}" after the host "${authority.slice(0, close + 1)}": want [IPv6]:PORT`);
    portText = after ? after.slice(1) : undefined;
  } else {
    const colons = authority.split(':').length - 1;
    if (colons > 1) fail(`an IPv6 address must be in brackets, e.g. ${scheme}://[${authority}]`);
    const colon = authority.indexOf(':');
    hostText = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
  }

  const { host, hostKind } = readHost(hostText, bracketed, mode, scheme, fail);
  if (hostKind === 'none' && scheme !== 'tcp')
    fail(`a ${scheme}:// URL needs a host, e.g. ${EXAMPLE[scheme]}`);

  // An empty port ("host:") is the default port (RFC 3986 section 3.2.3).
  let port = DEFAULT_PORT[scheme];
  if (portText !== undefined && portText !== '') {
    if (!/^\d+$/.test(portText)) fail(`port "${portText}" is not a number`);
    const digits = portText.replace(/^0+(?=\d)/, '');
    if (digits.length > 5 || Number(digits) < 1 || Number(digits) > 65535)
      fail(`port ${digits} is out of range 1-65535`);
    port = Number(digits);
  }
  if (port === undefined) fail(`a ${scheme}:// URL needs a port, e.g. ${EXAMPLE[scheme]}`);

  checkEscapes(path, 'path', fail);
  if (queryText !== undefined) checkEscapes(queryText, 'query', fail);
  if (scheme === 'tcp' && path !== '' && path !== '/')
    fail(`a tcp:// URL has no path (TCP carries opaque bytes); drop "${path}"`);
  if ((scheme === 'tcp' || scheme === 'grpc') && queryText !== undefined)
    fail(`a ${scheme}:// URL has no query; drop "?${queryText}"`);

  return {
    scheme,
    host,
    hostKind,
    port: port as number,
    path: scheme === 'tcp' ? '' : path,
    query: queryText === undefined ? [] : [...new URLSearchParams(queryText)],
  };
}

const LABEL = /^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?$/;

function readHost(
  text: string,
  bracketed: boolean,
  mode: RequestMode,
  scheme: Scheme,
  fail: (what: string) => never,
): { host: string; hostKind: HostKind } {
  if (bracketed) {
    const ip = text.includes(':') ? parseIp(text) : undefined;
    if (!ip || ip.family !== 6) fail(`host "[${text}]" is not an IPv6 address`);
    return { host: formatIp(ip), hostKind: 'ipv6' };
  }
  if (text === '') return { host: '', hostKind: 'none' };
  const lower = text.toLowerCase();
  const shown = cut(lower);
  // One trailing dot is the absolute form of the same name.
  const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  if (name === '') fail(`host "${shown}" is not a host name`);
  // A name whose last label is all digits can only be an IPv4 address (as WHATWG URL reads it).
  if (/(^|\.)\d+$/.test(name)) {
    if (!parseIp(name)) fail(`host "${shown}" is not an IPv4 address`);
    return { host: name, hostKind: 'ipv4' };
  }
  let labels = name.split('.');
  let hostKind: HostKind = 'name';
  if (labels[0] === '*') {
    if (mode === 'request')
      fail(
        `host "${shown}" is a wildcard, but a request goes to one host: name it, e.g. ${scheme}://${labels.length > 1 ? name.replace(/^\*/, 'api') : 'api.example.com'}`,
      );
    if (labels.length < 2) fail(`host "${shown}": a wildcard needs a domain after it, e.g. *.example.com`);
    labels = labels.slice(1);
    hostKind = 'wildcard';
  }
  if (name.length > 253) fail(`host "${shown}" is longer than 253 characters`);
  for (const label of labels) {
    if (label === '') fail(`host "${shown}" has an empty label`);
    if (label.includes('*'))
      fail(`host "${shown}": a wildcard must be the whole first label, as in *.example.com`);
    if (!/^[a-z0-9_-]+$/.test(label))
      fail(
        `host "${shown}" may contain only letters, digits, '-', '_' and '.' (write an internationalized name in its xn-- form)`,
      );
    if (label.length > 63) fail(`host "${shown}": the label "${cut(label)}" is longer than 63 characters`);
    if (!LABEL.test(label))
      fail(`host "${shown}": the label "${label}" must start and end with a letter or digit`);
  }
  return { host: name, hostKind };
}

/** Percent escapes must be `%XX`; spaces and control characters must be escaped. */
function checkEscapes(s: string, where: string, fail: (what: string) => never): void {
  const bad = /%(?![0-9A-Fa-f]{2})/.exec(s);
  if (bad) fail(`"${s.slice(bad.index, bad.index + 3)}" in the ${where} is not a %XX escape`);
  // eslint-disable-next-line no-control-regex
  const raw = /[\s\u0000-\u001f\u007f]/.exec(s);
  if (raw) fail(`the ${where} holds ${JSON.stringify(raw[0])}: escape it as %${hex(raw[0])}`);
}

/** Long values are cut so that the message stays one readable line. */
const cut = (v: string) => (v.length > 80 ? `${v.slice(0, 77)}...` : v);

const hex = (c: string) => c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
