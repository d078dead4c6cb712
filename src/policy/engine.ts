import { InvalidInput } from '../errors.js';
import {
  cidrContains,
  networkContains,
  networkSize,
  parseIp,
  type Cidr,
  type NetworkBlock,
} from '../net/cidr.js';
import { ROUTE_ENTRIES, ROUTE_KIND_NAMES, precedenceText, routeKindForProtocol, routeOf } from '../kinds.js';
import { parseRequest } from '../net/request.js';
import { precedenceOrder, routeConflicts } from './conflicts.js';
import { compareNetworks, type MatchedNetwork } from './networks.js';
import { compileProxyRegex, fullMatch } from './regex.js';
import { acceptedInStatus, defaultBlocks, networkBlocks, routeStatuses } from './status.js';
import {
  DEFAULT_OPAQUE_PORTS,
  EGRESS_GROUP,
  byAge,
  egressParents,
  ns,
  rules,
  type BackendRef,
  type PolicyObject,
} from './types.js';

/**
 * Linkerd's egress policy, decided the way the policy controller and the proxy decide it (the rules in
 * our words: docs/semantics.md), with a step-by-step explanation. Pure. Each step names the upstream
 * file whose rule it applies.
 */

/** Where the rules come from, as the steps cite them. */
const OUTBOUND_INDEX = 'linkerd2 policy-controller/k8s/index/src/outbound/index.rs';
const EGRESS_NETWORKS = 'linkerd2 policy-controller/k8s/index/src/outbound/index/egress_network.rs';
const STATUS_INDEX = 'linkerd2 policy-controller/k8s/status/src/index.rs';
const OUTBOUND_GRPC = 'linkerd2 policy-controller/grpc/src/outbound.rs';
const TLS_ROUTE = 'linkerd2-proxy linkerd/tls/route';
const HTTP_MATCH = 'linkerd2-proxy linkerd/http/route/src/http/match.rs';
const HTTP_ROUTE_CONVERSION = 'linkerd2 policy-controller/k8s/index/src/routes/http.rs';
const GRPC_ROUTE_CONVERSION = 'linkerd2 policy-controller/k8s/index/src/routes/grpc.rs';

/** The kind that makes a port speak TLS, as the steps name it. */
const TLS_KIND = routeKindForProtocol('tls').kind;

export interface EgressRequest {
  /** http, https (TLS), grpc, or tcp (opaque bytes). */
  scheme: 'http' | 'https' | 'grpc' | 'tcp';
  host: string;
  port: number;
  path: string;
  method: string;
  headers: Record<string, string>;
  /** `?a=1&a=2` as ordered, decoded pairs: a repeated name keeps every value (any one may match). */
  query: [name: string, value: string][];
  /** The destination IP when known; otherwise an address outside the cluster networks is assumed. */
  ip?: string | undefined;
}

export interface PolicyInput {
  objects: PolicyObject[];
  clusterNetworks: Cidr[];
  globalNamespace: string;
  clientNamespace: string;
  /** Treat routes without a status from the policy controller as Accepted (files have no status). */
  assumeAccepted: boolean;
}

export interface Step {
  /** Which of Linkerd's rules was applied. */
  rule: string;
  result: string;
}

export type Verdict = 'allow' | 'deny' | 'redirect';

export interface Decision {
  verdict: Verdict;
  /** What the client sees. */
  effect: string;
  network: { namespace: string; name: string; trafficPolicy: string } | null;
  /** No EgressNetwork captured the address: Linkerd's egress-fallback forwards it as is. */
  fallback: boolean;
  /** In-cluster traffic (a Service ClusterIP or a cluster address): no egress policy applies. */
  inCluster: boolean;
  protocol: 'http' | 'grpc' | 'tls' | 'opaque' | 'detect' | null;
  route: { kind: string; namespace: string; name: string; default: boolean; rule?: number } | null;
  backend: string | null;
  steps: Step[];
  assumptions: string[];
}

const DEFAULT_PUBLIC_V4 = 'a public address outside the cluster networks';

/** Decides one request. */
export function decide(input: PolicyInput, req: EgressRequest): Decision {
  const steps: Step[] = [];
  const assumptions: string[] = [];
  const base = {
    network: null,
    fallback: false,
    inCluster: false,
    protocol: null,
    route: null,
    backend: null,
    steps,
    assumptions,
  };
  const step = (rule: string, result: string) => steps.push({ rule, result });

  // 1. A Service ClusterIP is never egress.
  const ip = req.ip !== undefined ? parseIp(req.ip) : undefined;
  if (req.ip !== undefined && !ip) throw new InvalidInput(`--ip "${req.ip}" is not an IPv4 or IPv6 address`);
  if (ip) {
    const svc = input.objects.find(
      (o) =>
        o.kind === 'Service' &&
        (o.spec?.clusterIP === req.ip ||
          ((o.spec?.clusterIPs as string[] | undefined) ?? []).includes(req.ip as string)),
    );
    if (svc) {
      step(
        `A Service ClusterIP is never egress (${OUTBOUND_INDEX})`,
        `${req.ip} is the ClusterIP of Service ${ns(svc)}/${svc.metadata.name}`,
      );
      return {
        ...base,
        verdict: 'allow',
        inCluster: true,
        effect: `in-cluster traffic to Service ${ns(svc)}/${svc.metadata.name}: no egress policy applies`,
      };
    }
  } else {
    assumptions.push(
      `no --ip: assumed ${DEFAULT_PUBLIC_V4}, which EgressNetworks without explicit networks capture; pass --ip A.B.C.D to test networks with explicit CIDRs`,
    );
  }

  // 2. Candidates: the client namespace's networks; only if it has none, the global namespace's.
  const all = input.objects.filter((o) => o.kind === 'EgressNetwork');
  const local = all.filter((n) => ns(n) === input.clientNamespace);
  const candidates = local.length ? local : all.filter((n) => ns(n) === input.globalNamespace);
  step(
    `Candidates: EgressNetworks in the client namespace; only if it has none, those in the global egress namespace (${EGRESS_NETWORKS})`,
    local.length
      ? `namespace ${input.clientNamespace} has ${names(local)}; they shadow every global network${input.clientNamespace !== input.globalNamespace && all.some((n) => ns(n) === input.globalNamespace) ? ` (${names(all.filter((n) => ns(n) === input.globalNamespace))} in ${input.globalNamespace} do not apply)` : ''}`
      : `namespace ${input.clientNamespace} has none; ${candidates.length ? `global namespace ${input.globalNamespace} has ${names(candidates)}` : `global namespace ${input.globalNamespace} has none either`}`,
  );

  // 3. Among candidates containing the address: the most specific, then the oldest, then by name.
  const matching: MatchedNetwork[] = [];
  for (const n of candidates) {
    const blocks = networkBlocks(n) ?? defaultBlocks(input.clusterNetworks);
    const explicit = networkBlocks(n) !== undefined;
    const hit = ip
      ? blocks.filter((b) => networkContains(b, ip))
      : assumedHits(blocks, input.clusterNetworks, explicit);
    if (!ip && explicit && hit.length === 0)
      assumptions.push(
        `EgressNetwork ${ns(n)}/${n.metadata.name} lists explicit networks: assumed it does not capture the destination`,
      );
    if (hit.length) matching.push({ n, size: hit.map(networkSize).reduce((a, b) => (a < b ? a : b)) });
  }
  matching.sort(compareNetworks);
  const chosen = matching[0]?.n;
  if (!chosen) {
    const inCluster = ip ? input.clusterNetworks.some((c) => cidrContains(c, ip)) : false;
    if (inCluster) {
      step(
        `An address inside the cluster networks that no EgressNetwork captures is not egress (${EGRESS_NETWORKS})`,
        `${req.ip} is in the cluster networks`,
      );
      return {
        ...base,
        verdict: 'allow',
        inCluster: true,
        effect: 'in-cluster traffic: no egress policy applies',
      };
    }
    step(
      `No EgressNetwork captures the address: the egress-fallback policy forwards it as is (${EGRESS_NETWORKS})`,
      `${ip ? req.ip : 'the destination'} is in none of ${candidates.length ? names(candidates) : 'the (no) candidate networks'}`,
    );
    return {
      ...base,
      verdict: 'allow',
      fallback: true,
      effect: `forwarded as is to ${req.host}:${req.port} (egress-fallback: no EgressNetwork applies)`,
    };
  }
  const policy = chosen.spec?.trafficPolicy === 'Deny' ? 'Deny' : 'Allow';
  const network = { namespace: ns(chosen), name: chosen.metadata.name, trafficPolicy: policy };
  step(
    `Most specific network (smallest block after exceptions, as the policy controller counts it), then the oldest (no creationTimestamp counts as the oldest), then by name (${EGRESS_NETWORKS})`,
    `EgressNetwork ${network.namespace}/${network.name} (trafficPolicy ${policy})${matching.length > 1 ? `, ahead of ${names(matching.slice(1).map((m) => m.n))}` : ''}${ip?.family === 6 && matching.length > 1 && matching.some((m) => m.size === 0n) ? ' (IPv6 blocks of /64 or wider count 0 addresses there: docs/semantics.md)' : ''}`,
  );

  // Routes attached to this network and port, visible to this client, and accepted.
  const statuses = input.assumeAccepted ? routeStatuses(input.objects, input.clusterNetworks) : undefined;
  if (input.assumeAccepted)
    assumptions.push(
      'routes without a status from the policy controller are taken as Accepted unless Linkerd would reject them (--assume-accepted)',
    );
  const attached = input.objects
    .filter((o) => ROUTE_KIND_NAMES.includes(o.kind))
    .filter((r) => ns(r) === network.namespace || ns(r) === input.clientNamespace)
    .filter((r) =>
      egressParents(r).some(
        (p) =>
          p.group === EGRESS_GROUP &&
          p.name === network.name &&
          p.namespace === network.namespace &&
          p.port === req.port,
      ),
    )
    .sort(byAge);
  const accepted: PolicyObject[] = [];
  for (const r of attached) {
    const p = egressParents(r).find(
      (x) => x.name === network.name && x.namespace === network.namespace && x.port === req.port,
    ) as Parameters<typeof acceptedInStatus>[1];
    const live = acceptedInStatus(r, p);
    const computed = statuses
      ?.get(r)
      ?.find(
        (s) =>
          s.parentRef.name === p.name && s.parentRef.namespace === p.namespace && s.parentRef.port === p.port,
      )?.accepted;
    const cond = live ?? (input.assumeAccepted ? computed : undefined);
    const unserved = cond?.status === 'True' ? notServed(r) : undefined;
    if (unserved)
      step(
        `A route whose matches the policy controller cannot convert is not sent to the proxy (${r.kind === 'GRPCRoute' ? GRPC_ROUTE_CONVERSION : HTTP_ROUTE_CONVERSION})`,
        `${r.kind} ${ns(r)}/${r.metadata.name} ignored: ${unserved}`,
      );
    else if (cond?.status === 'True') accepted.push(r);
    else
      step(
        `A route takes effect only once the policy controller accepted it (${STATUS_INDEX})`,
        `${r.kind} ${ns(r)}/${r.metadata.name} ignored: ${cond ? `Accepted=${cond.status} (${cond.reason}${cond.message ? `: ${cond.message}` : ''})` : 'no Accepted status from linkerd.io/policy-controller'}`,
      );
  }

  // 4. The protocol on this port: opaque ports are TCP; else the highest route type present.
  const opaque = opaquePorts(chosen).includes(req.port);
  const kinds = new Set(accepted.map((r) => r.kind));
  const top = precedenceOrder(kinds)[0];
  const topProtocol = ROUTE_ENTRIES.find((k) => k.kind === top)?.route.protocol;
  const protocol: Decision['protocol'] = opaque
    ? 'opaque'
    : topProtocol === undefined
      ? 'detect'
      : topProtocol === 'tcp'
        ? 'opaque'
        : topProtocol;
  step(
    `Protocol per port: opaque ports are TCP only; else ${precedenceText()} > detect (${OUTBOUND_INDEX})`,
    opaque
      ? `port ${req.port} is opaque (config.linkerd.io/opaque-ports)`
      : `port ${req.port}: ${kinds.size ? `accepted ${[...kinds].join(', ')}` : 'no routes'} → ${protocol}`,
  );
  const deny = policy === 'Deny';
  const dflt = (p: 'http' | 'grpc' | 'tls' | 'tcp') => ({
    kind: 'default',
    namespace: '',
    name: `${p}-egress-${deny ? 'deny' : 'allow'}`,
    default: true,
  });
  const finish = (
    route: Decision['route'],
    rule: Record<string, unknown> | undefined,
    kind: 'http' | 'grpc' | 'tls' | 'tcp',
  ): Decision => {
    if (route?.default) {
      step(
        `Default route appended after user routes (${OUTBOUND_GRPC})`,
        `${route.name}: trafficPolicy ${policy}`,
      );
      const effect = !deny
        ? `forwarded to the original destination ${req.host}:${req.port}`
        : kind === 'http'
          ? 'HTTP 403 "traffic not allowed"'
          : kind === 'grpc'
            ? 'gRPC status 7 PERMISSION_DENIED'
            : 'connection closed (close counter error="forbidden")';
      return {
        ...base,
        network,
        protocol,
        route,
        verdict: deny ? 'deny' : 'allow',
        effect,
        backend: deny ? null : 'original destination',
      };
    }
    return withBackend(
      { ...base, network, protocol, route, verdict: 'allow', effect: '', backend: null },
      rule,
      chosen,
      input,
      req,
      step,
      kind,
    );
  };

  // 5. Route matching, by protocol.
  if (protocol === 'opaque' || (protocol === 'detect' && (req.scheme === 'tcp' || req.scheme === 'https'))) {
    const tcp = accepted.filter((r) => r.kind === top && routeOf(r)?.protocol === 'tcp');
    if (protocol === 'opaque' && tcp.length) {
      // The one-per-port rule (./conflicts.ts) picks the oldest; `accepted` is oldest first.
      const verdicts = routeConflicts(tcp.map((r) => ({ kind: r.kind, port: String(req.port), r })));
      const used = [...verdicts].filter(([, v]) => !v.ignoredFor).map(([x]) => x.r);
      const ignored = [...verdicts].filter(([, v]) => v.ignoredFor).map(([x]) => x.r);
      const r = used[0] as PolicyObject;
      step(
        `Only one ${r.kind} per port is used, the oldest; it takes all traffic (${OUTBOUND_INDEX})`,
        `${r.kind} ${ns(r)}/${r.metadata.name}${ignored.length ? ` (ignored: ${names(ignored)})` : ''}`,
      );
      return finish(
        { kind: r.kind, namespace: ns(r), name: r.metadata.name, default: false, rule: 1 },
        rules(r)[0],
        'tcp',
      );
    }
    if (protocol === 'detect' && req.scheme === 'https')
      step(
        `HTTPS without a ${TLS_KIND} is not HTTP: detection falls back to opaque TCP (${OUTBOUND_INDEX})`,
        'the tcp default route applies',
      );
    return finish(dflt('tcp'), undefined, 'tcp');
  }
  if (protocol === 'tls') {
    if (req.scheme !== 'https') {
      step(
        `A port with a ${TLS_KIND} speaks TLS: routes match the SNI of the ClientHello (${TLS_ROUTE})`,
        `a ${req.scheme} request sends no ClientHello`,
      );
      return {
        ...base,
        network,
        protocol,
        verdict: 'deny',
        effect: `connection fails: the port expects TLS (a ${TLS_KIND} is attached) and the request is not TLS`,
        route: null,
      };
    }
    const m = bestHostRoute(
      accepted.filter((r) => routeOf(r)?.protocol === 'tls'),
      req.host,
    );
    if (!m) {
      step(
        `TLS routes match by SNI: with hostnames beats without, exact beats wildcard, ties to the first (${TLS_ROUTE})`,
        `no ${TLS_KIND} matches SNI ${req.host}`,
      );
      return finish(dflt('tls'), undefined, 'tls');
    }
    step(
      `TLS routes match by SNI: with hostnames beats without, exact beats wildcard, ties to the first (${TLS_ROUTE})`,
      `${m.route.kind} ${ns(m.route)}/${m.route.metadata.name} matches SNI ${req.host}${m.how}`,
    );
    return finish(
      { kind: m.route.kind, namespace: ns(m.route), name: m.route.metadata.name, default: false, rule: 1 },
      rules(m.route)[0],
      'tls',
    );
  }
  if (protocol === 'grpc' || protocol === 'http' || protocol === 'detect') {
    const kind = protocol === 'grpc' ? 'grpc' : 'http';
    if (protocol === 'http' && req.scheme === 'https') {
      step(
        `HTTPS on a port with ${routeKindForProtocol('http').kind}s is not HTTP: detection falls back to opaque TCP (${OUTBOUND_INDEX})`,
        'the tcp default route applies',
      );
      return finish(dflt('tcp'), undefined, 'tcp');
    }
    const candidatesR = accepted.filter((r) => routeOf(r)?.protocol === kind);
    const kindName = routeKindForProtocol(kind).kind;
    const best = bestHttpMatch(candidatesR, req, kind);
    const ruleText = `Best match across all routes: hostname first (exact > wildcard > longer > none), then path length (Exact before PathPrefix at equal length), method, headers, query (as the proxy orders them); ties to the first route in order (oldest, undated last) and the first rule (${HTTP_MATCH})`;
    if (!best) {
      step(
        ruleText,
        candidatesR.length
          ? `no ${kindName} matches ${describeReq(req)}`
          : `no ${kindName}s on port ${req.port}`,
      );
      return finish(dflt(kind), undefined, kind);
    }
    step(
      ruleText,
      `${best.route.kind} ${ns(best.route)}/${best.route.metadata.name} rule ${best.ruleIndex + 1} matches ${describeReq(req)}${best.how}`,
    );
    return finish(
      {
        kind: best.route.kind,
        namespace: ns(best.route),
        name: best.route.metadata.name,
        default: false,
        rule: best.ruleIndex + 1,
      },
      best.rule,
      kind,
    );
  }
  return finish(dflt('tcp'), undefined, 'tcp');
}

const names = (objs: PolicyObject[]) => objs.map((o) => `${ns(o)}/${o.metadata.name}`).join(', ');

function describeReq(r: EgressRequest): string {
  return r.scheme === 'grpc' ? `${r.host}${r.path}` : `${r.method} ${r.host}${r.path}`;
}

/** With no IP: a block captures "an off-cluster address" only if it spans all of its family's off-cluster space. */
function assumedHits(blocks: NetworkBlock[], cluster: Cidr[], explicit: boolean): NetworkBlock[] {
  return blocks.filter(
    (b) =>
      b.cidr.family === 4 &&
      b.cidr.prefix === 0 &&
      (!explicit ||
        b.except.every((e) =>
          cluster.some((c) => c.family === 4 && c.base === e.base && c.prefix === e.prefix),
        )),
  );
}

function opaquePorts(n: PolicyObject): number[] {
  const a = n.metadata.annotations?.['config.linkerd.io/opaque-ports'];
  if (!a) return DEFAULT_OPAQUE_PORTS;
  return a.split(',').flatMap((p) => {
    const [lo, hi] = p.trim().split('-').map(Number);
    if (lo === undefined || Number.isNaN(lo)) return [];
    const top = hi !== undefined && !Number.isNaN(hi) ? hi : lo;
    return Array.from({ length: Math.max(0, top - lo + 1) }, (_, i) => lo + i);
  });
}

/**
 * Hostname match rank: [matched-with-hostnames, exact, length]; undefined when the route's hostnames
 * exclude the host. A route without hostnames matches every host and ranks below any that matched one
 * (`None < Some`, linkerd2-proxy linkerd/http/route/src/lib.rs). `sni` compares as the TLS router does.
 */
function hostRank(route: PolicyObject, host: string, sni = false): [number, number, number] | undefined {
  const hostnames = (route.spec?.hostnames as string[] | undefined) ?? [];
  if (!hostnames.length) return [0, 0, 0];
  let best: [number, number, number] | undefined;
  for (const h of hostnames) {
    const r = hostMatch(h, host, sni);
    if (r && (!best || cmp(r, best) > 0)) best = r;
  }
  return best;
}

/**
 * One hostname pattern against the request's host (linkerd2-proxy linkerd/http/route/src/http/match/host.rs;
 * for SNI linkerd/tls/route/src/sni.rs). Exact beats a `*.` suffix whatever their lengths; within a
 * kind the longer pattern wins. The request's trailing dot is dropped unless the pattern has one
 * (`example.com.` then matches only `example.com.`; Gateway API hostnames cannot end in a dot). HTTP
 * compares case-insensitively; the SNI router compares as written (the SNI arrives lower-cased, so a
 * hostname with capitals never matches a TLS connection).
 */
function hostMatch(pattern: string, host: string, sni: boolean): [number, number, number] | undefined {
  const p = sni ? pattern : pattern.toLowerCase();
  let h = sni ? host : host.toLowerCase();
  if (!p.endsWith('.') && h.endsWith('.')) h = h.slice(0, -1);
  if (p.startsWith('*.')) {
    const suffix = p.slice(1);
    return h.endsWith(suffix) && h.length > suffix.length ? [1, 0, suffix.length] : undefined;
  }
  return h === p ? [1, 1, p.length] : undefined;
}

function cmp(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

function bestHostRoute(
  routes: PolicyObject[],
  host: string,
): { route: PolicyObject; how: string } | undefined {
  let best: { route: PolicyObject; rank: [number, number, number] } | undefined;
  for (const r of routes) {
    const rank = hostRank(r, host, true);
    if (rank && (!best || cmp(rank, best.rank) > 0)) best = { route: r, rank };
  }
  if (!best) return undefined;
  return {
    route: best.route,
    how:
      best.rank[0] === 0
        ? ' (a route without hostnames matches every SNI)'
        : best.rank[1]
          ? ' (exact hostname)'
          : ' (wildcard hostname)',
  };
}

interface HttpMatch {
  route: PolicyObject;
  rule: Record<string, unknown>;
  ruleIndex: number;
  how: string;
}

function bestHttpMatch(
  routes: PolicyObject[],
  req: EgressRequest,
  kind: 'http' | 'grpc',
): HttpMatch | undefined {
  let best: (HttpMatch & { score: number[] }) | undefined;
  for (const route of routes) {
    const host = hostRank(route, req.host);
    if (!host) continue;
    rules(route).forEach((rule, ruleIndex) => {
      const matches = (rule.matches as Record<string, unknown>[] | undefined) ?? [{}];
      for (const m of matches.length ? matches : [{}]) {
        const s = kind === 'grpc' ? grpcScore(m, req) : httpScore(m, req);
        if (!s) continue;
        const score = [...host, ...s.score];
        if (!best || cmp(score, best.score) > 0) best = { route, rule, ruleIndex, score, how: s.how };
      }
    });
  }
  return best;
}

type ValueMatch = { type?: string; name: string; value: string };

/**
 * [path chars matched, exact path, method, header matches, query matches] for a match, or undefined,
 * as linkerd2-proxy linkerd/http/route/src/http/match.rs (`impl Ord for RequestMatch`) orders them:
 * path length; at equal length an Exact path beats a PathPrefix (match/tests.rs
 * `exact_beats_prefix_of_equal_length`), a prefix and a regex of one length tie (http/tests.rs
 * `first_tied_match_in_rule_wins`); then method, then the number of header and of query matches.
 */
function httpScore(
  m: Record<string, unknown>,
  req: EgressRequest,
): { score: number[]; how: string } | undefined {
  const path = (m.path as { type?: string; value?: string } | undefined) ?? {
    type: 'PathPrefix',
    value: '/',
  };
  const type = path.type ?? 'PathPrefix';
  const value = path.value ?? '/';
  let pathLen: number;
  if (type === 'Exact') {
    if (req.path !== value) return undefined;
    pathLen = value.length;
  } else if (type === 'PathPrefix') {
    const v = value.replace(/\/+$/, '');
    const p = req.path.replace(/\/+$/, '');
    if (!(v === '' || p === v || p.startsWith(`${v}/`))) return undefined;
    pathLen = v === '' ? 1 : v.length; // "/" counts one character, as in the proxy
  } else {
    if (!fullMatch(compileProxyRegex(value), req.path)) return undefined;
    pathLen = req.path.length; // a regex match counts the whole path (linkerd2-proxy path.rs)
  }
  const headers = (m.headers as ValueMatch[] | undefined) ?? [];
  if (!headers.every((h) => headerMatches(h, req))) return undefined;
  const query = (m.queryParams as ValueMatch[] | undefined) ?? [];
  if (!query.every((q) => queryMatches(q, req))) return undefined;
  const method = m.method as string | undefined;
  if (method !== undefined && method !== req.method.toUpperCase()) return undefined;
  const how = [
    `${type} ${value}`,
    ...headers.map((h) => `header ${h.name}`),
    ...query.map((q) => `query ${q.name}`),
    ...(method ? [`method ${method}`] : []),
  ].join(', ');
  return {
    score: [pathLen, type === 'Exact' ? 1 : 0, method ? 1 : 0, headers.length, query.length],
    how: ` (${how})`,
  };
}

/**
 * A header match (linkerd2-proxy linkerd/http/route/src/http/match/header.rs): the name is
 * case-insensitive; Exact compares the value byte for byte; a RegularExpression must match the whole
 * value (./regex.ts) and never matches a value that is not visible ASCII.
 */
function headerMatches(h: ValueMatch, req: EgressRequest): boolean {
  const got = Object.entries(req.headers).find(([k]) => k.toLowerCase() === h.name.toLowerCase())?.[1];
  if (got === undefined) return false;
  if (h.type !== 'RegularExpression') return got === h.value;
  return /^[\t\x20-\x7e]*$/.test(got) && fullMatch(compileProxyRegex(h.value), got);
}

/**
 * A query-parameter match (linkerd2-proxy linkerd/http/route/src/http/match/query_param.rs): names
 * compare exactly, values are form-decoded, and any occurrence of a repeated name may match.
 */
function queryMatches(q: ValueMatch, req: EgressRequest): boolean {
  const regex = q.type === 'RegularExpression' ? compileProxyRegex(q.value) : undefined;
  return req.query.some(
    ([name, value]) => name === q.name && (regex ? fullMatch(regex, value) : value === q.value),
  );
}

/**
 * Why the policy controller would not convert the route for the proxy, or undefined when it would:
 * a regex that is not valid Rust `regex` syntax, an Exact or PathPrefix path that is not absolute
 * (linkerd2 policy-controller/k8s/index/src/routes/http.rs), a GRPCRoute method match of type
 * RegularExpression ("unsupported GRPCRoute method match type", routes/grpc.rs).
 */
function notServed(r: PolicyObject): string | undefined {
  if (r.kind !== 'HTTPRoute' && r.kind !== 'GRPCRoute') return undefined;
  for (const rule of rules(r)) {
    for (const m of (rule.matches as Record<string, unknown>[] | undefined) ?? []) {
      const regexes: [string, string][] = [];
      if (r.kind === 'GRPCRoute') {
        const method = m.method as { type?: string } | undefined;
        if (method?.type === 'RegularExpression') return 'unsupported GRPCRoute method match type';
      } else {
        const path = m.path as { type?: string; value?: string } | undefined;
        if (path?.type === 'RegularExpression') regexes.push(['path', path.value ?? '']);
        else if (path?.value !== undefined && !path.value.startsWith('/'))
          return `HttpPathMatch paths must be absolute (begin with \`/\`); "${path.value}" is not`;
        for (const q of (m.queryParams as ValueMatch[] | undefined) ?? [])
          if (q.type === 'RegularExpression') regexes.push([`query parameter ${q.name}`, q.value]);
      }
      for (const h of (m.headers as ValueMatch[] | undefined) ?? [])
        if (h.type === 'RegularExpression') regexes.push([`header ${h.name}`, h.value]);
      for (const [what, pattern] of regexes) {
        const c = compileProxyRegex(pattern);
        if ('error' in c) return `the ${what} regex "${pattern}" is not one the proxy runs (${c.error})`;
      }
    }
  }
  return undefined;
}

/** gRPC: method match (service and method), then headers. The request path is /service/method. */
function grpcScore(
  m: Record<string, unknown>,
  req: EgressRequest,
): { score: number[]; how: string } | undefined {
  const [, service = '', method = ''] = /^\/([^/]*)\/?([^/]*)/.exec(req.path) ?? [];
  const mm = m.method as { service?: string; method?: string } | undefined;
  if (mm?.service !== undefined && mm.service !== service) return undefined;
  if (mm?.method !== undefined && mm.method !== method) return undefined;
  // Headers as in HTTPRoute, Exact or RegularExpression (linkerd2 routes/grpc.rs `header_match`).
  const headers = (m.headers as ValueMatch[] | undefined) ?? [];
  if (!headers.every((h) => headerMatches(h, req))) return undefined;
  const how = mm ? ` (method ${[mm.service, mm.method].filter(Boolean).join('/')})` : ' (every method)';
  return { score: [mm?.service ? 1 : 0, mm?.method ? 1 : 0, headers.length], how };
}

function withBackend(
  d: Decision,
  rule: Record<string, unknown> | undefined,
  network: PolicyObject,
  input: PolicyInput,
  req: EgressRequest,
  step: (rule: string, result: string) => void,
  kind: 'http' | 'grpc' | 'tls' | 'tcp',
): Decision {
  const ruleName = `Backends: none or the parent EgressNetwork forward to the original destination; a Service redirects into the cluster (${STATUS_INDEX})`;
  const refs = (rule?.backendRefs as BackendRef[] | undefined) ?? [];
  const filters = (rule?.filters as { type?: string }[] | undefined) ?? [];
  const redirect = filters.find((f) => f.type === 'RequestRedirect');
  if (redirect)
    step('Filters', 'a RequestRedirect filter answers with an HTTP redirect; the request is not forwarded');
  const ref = refs[0];
  if (!ref) {
    step(ruleName, `no backendRefs: forwarded to the original destination ${req.host}:${req.port}`);
    return {
      ...d,
      verdict: 'allow',
      backend: 'original destination',
      effect: `forwarded to the original destination ${req.host}:${req.port}`,
    };
  }
  const bkind = ref.kind ?? 'Service';
  if (bkind === 'EgressNetwork' && (ref.group ?? '') === EGRESS_GROUP) {
    if (ref.name !== network.metadata.name || (ref.namespace ?? ns(network)) !== ns(network)) {
      step(
        ruleName,
        `backend EgressNetwork ${ref.namespace ?? ''}/${ref.name} is not the parent: ResolvedRefs=False (InvalidKind)`,
      );
      return {
        ...d,
        verdict: 'deny',
        backend: null,
        effect:
          kind === 'http' || kind === 'grpc'
            ? 'fails: invalid backend (InvalidKind)'
            : 'connection closed (error="invalid_backend")',
      };
    }
    // The original address and port: a backendRef port only labels the backend in metrics
    // (linkerd2 policy-controller/grpc/src/outbound/http.rs, tls.rs, tcp.rs forward to original_dst).
    step(
      ruleName,
      `backend is the parent EgressNetwork: forwarded to the original destination ${req.host}:${req.port}`,
    );
    return {
      ...d,
      verdict: 'allow',
      backend: 'original destination',
      effect: `forwarded to the original destination ${req.host}:${req.port}`,
    };
  }
  if (bkind === 'Service' && ((ref.group ?? '') === '' || ref.group === 'core')) {
    const svcNs = ref.namespace ?? (d.route?.namespace || ns(network));
    const svc = input.objects.find(
      (o) => o.kind === 'Service' && o.metadata.name === ref.name && ns(o) === svcNs,
    );
    const target = `${svcNs}/${ref.name}:${ref.port ?? '?'}`;
    if (ref.port === undefined) {
      step(ruleName, `Service ${svcNs}/${ref.name} without a port: ResolvedRefs=False`);
      return { ...d, verdict: 'deny', backend: target, effect: 'fails: backend Service has no port' };
    }
    if (!svc) {
      step(ruleName, `Service ${svcNs}/${ref.name} not found: ResolvedRefs=False (BackendNotFound)`);
      // The failure the controller sends instead of the backend (linkerd2 policy-controller/grpc/src/outbound/http.rs).
      return { ...d, verdict: 'deny', backend: target, effect: `HTTP 500 "Service not found ${ref.name}"` };
    }
    step(ruleName, `redirected into the cluster to Service ${target}`);
    return {
      ...d,
      verdict: 'redirect',
      backend: target,
      effect: `redirected to Service ${target} instead of ${req.host}`,
    };
  }
  step(ruleName, `unsupported backend ${ref.group ?? ''}/${bkind}: ResolvedRefs=False (InvalidKind)`);
  return { ...d, verdict: 'deny', backend: null, effect: 'fails: unsupported backend kind' };
}

/**
 * A request URL (the grammar of `net/request.ts`, in `request` mode) with the method, headers and IP the
 * caller gives, as the engine decides it. The path defaults to `/` and keeps its percent escapes: the
 * proxy matches `uri.path()` as sent (linkerd2-proxy linkerd/http/route/src/http/match/path.rs), and
 * Gateway API path values are written escaped. Query parameters are decoded pairs, repeats kept.
 */
export function parseRequestUrl(
  url: string,
  o: { method?: string; headers?: Record<string, string>; ip?: string | undefined },
): EgressRequest {
  const r = parseRequest(url, 'request');
  const ipFromHost = r.hostKind === 'ipv4' || r.hostKind === 'ipv6' ? r.host : undefined;
  return {
    scheme: r.scheme,
    // `tcp://:PORT` names no host: the address, when given, is the destination.
    host: r.host || (o.ip ?? ''),
    port: r.port,
    path: r.path || '/',
    method: (o.method ?? 'GET').toUpperCase(),
    headers: o.headers ?? {},
    query: r.query,
    ip: o.ip ?? ipFromHost,
  };
}
