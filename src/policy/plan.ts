import { routeOf } from '../kinds.js';
import type { EgressLedger, LedgerFlow } from '../metrics/ledger.js';
import type { Cidr } from '../net/cidr.js';
import { decide, type Decision, type EgressRequest } from './engine.js';
import { cidrContains, parseIp } from '../net/cidr.js';
import { acceptedInStatus, networkBlocks, routeStatuses } from './status.js';
import { CONTROLLER, EGRESS_GROUP, egressParents, ns, rules, type PolicyObject } from './types.js';

/**
 * `egress plan`: what a policy change would do to the traffic that was actually seen. Every flow of a
 * ledger is replayed through the engine (`decide`) twice, against the current objects and against the
 * proposed ones, and grouped by what changes, like `terraform plan`. Pure.
 *
 * Metrics do not say everything a request carries. The proxy's route metrics
 * (linkerd2-proxy `linkerd/app/outbound/src/http/logical/policy/route/metrics.rs` labels) name the
 * network, port, route and hostname, never the path, method or headers; TCP metrics name the address,
 * never whether the bytes were TLS. So a flow is replayed as every request it could have been: one probe
 * per distinct match (path, method, headers, query) of the routes that could take its host, plus one that
 * no route names. Only the probes that the CURRENT objects send to the route the proxy reported are
 * kept (those are the requests the flow can have been); if their proposed outcomes differ, the flow is
 * `uncertain` and the plan lists the outcomes. Nothing is guessed.
 */

export const PLAN_API_VERSION = 'egressctl.linkerd.io/v1';

/** What the replay needs besides the objects (the flags `check` takes too). */
export interface PlanContext {
  clusterNetworks: Cidr[];
  globalNamespace: string;
  /**
   * Take current routes without a status from the policy controller as Accepted (true when the current
   * objects come from files, which have no status). Proposed objects always are: files have no status.
   */
  currentAssumeAccepted: boolean;
}

/** What the engine decided for a flow on one side. */
export interface PlanOutcome {
  verdict: 'allow' | 'deny' | 'redirect';
  network: { namespace: string; name: string; trafficPolicy: string } | null;
  route: { kind: string; namespace: string; name: string; default: boolean; rule?: number } | null;
  backend: string | null;
  /** What the client sees. */
  effect: string;
  /** The rule (Linkerd's, with its upstream file) that decided, and what it found. */
  decidedBy: { rule: string; result: string };
}

export type PlanChange = 'break' | 'open' | 'reroute' | 'uncertain' | 'unchanged';

/** The order groups are shown in: what hurts first. */
export const PLAN_CHANGES: readonly PlanChange[] = ['break', 'uncertain', 'reroute', 'open', 'unchanged'];

export interface PlannedFlow {
  flow: LedgerFlow;
  change: PlanChange;
  /** The current outcome; null when the current objects do not reproduce what the proxy reported. */
  current: PlanOutcome | null;
  /** The proposed outcome; null when uncertain (see `alternatives`). */
  proposed: PlanOutcome | null;
  /** Why the flow is uncertain (empty otherwise). */
  reasons: string[];
  /** For an uncertain flow: each request it may have been, and what the proposal does to it. */
  alternatives: { request: string; outcome: PlanOutcome }[];
}

/** Flows, their volume (requests or connections) and rate (per second; null for totals). */
export interface PlanTotals {
  flows: number;
  volume: number;
  rate: number | null;
}

/** What the proposal does to one object. */
export interface ObjectChange {
  action: 'create' | 'update' | 'delete' | 'unchanged';
  kind: string;
  namespace: string;
  name: string;
}

export interface PlanReport {
  apiVersion: typeof PLAN_API_VERSION;
  kind: 'EgressPlan';
  schemaVersion: 1;
  source: EgressLedger['source'];
  window: EgressLedger['window'];
  objects: ObjectChange[];
  summary: Record<PlanChange, PlanTotals>;
  /** What the replay takes for granted, once for the whole plan. */
  assumptions: string[];
  notices: string[];
  /** Grouped by change (PLAN_CHANGES order), then in ledger order. */
  flows: PlannedFlow[];
}

// ── the proposal ──

/** `apply` (replace each object by kind and name), server-side apply (merge fields), or `--replace`. */
export type ProposeMode = 'apply' | 'server-side-apply' | 'replace';

const groupOf = (o: PolicyObject) => (o.apiVersion.includes('/') ? (o.apiVersion.split('/')[0] ?? '') : '');
/** Objects are the same object when group, kind, namespace and name agree (as the API server keys them). */
export const objectKey = (o: PolicyObject): string => `${groupOf(o)}/${o.kind}/${ns(o)}/${o.metadata.name}`;

const strip = (o: PolicyObject) => {
  const { source: _source, status: _status, ...rest } = o;
  return rest;
};
const sameObject = (a: PolicyObject, b: PolicyObject) =>
  JSON.stringify(strip(a).spec ?? {}) === JSON.stringify(strip(b).spec ?? {}) &&
  JSON.stringify(a.metadata.annotations ?? {}) === JSON.stringify(b.metadata.annotations ?? {});

function mergeFields(live: unknown, applied: unknown): unknown {
  if (
    live === null ||
    applied === null ||
    typeof live !== 'object' ||
    typeof applied !== 'object' ||
    Array.isArray(live) ||
    Array.isArray(applied)
  )
    return applied; // lists and scalars are owned whole by the applier
  const out: Record<string, unknown> = { ...(live as Record<string, unknown>) };
  for (const [k, v] of Object.entries(applied as Record<string, unknown>)) out[k] = mergeFields(out[k], v);
  return out;
}

/**
 * The proposed objects: `current` with `files` applied. `apply`: an object with the same group, kind,
 * namespace and name is replaced, others are added. `server-side-apply`: the fields the file sets
 * replace the live ones and the rest are kept (what `allow`, `deny` and `route` do). `replace`: in
 * each namespace the files name, the files are the whole policy (current EgressNetworks and routes
 * there are dropped; Services are not policy and stay). Objects without a namespace go to
 * `o.namespace`. A changed object loses its status (the policy controller has not seen it yet) and keeps
 * its creation time (an update is not a new object, and age decides ties).
 */
export function proposeObjects(
  current: PolicyObject[],
  files: PolicyObject[],
  o: { mode: ProposeMode; namespace: string },
): { objects: PolicyObject[]; changes: ObjectChange[] } {
  const placed = files.map((f) =>
    f.metadata.namespace ? f : { ...f, metadata: { ...f.metadata, namespace: o.namespace } },
  );
  const byKey = new Map(current.map((c) => [objectKey(c), c]));
  const changes: ObjectChange[] = [];
  const ref = (x: PolicyObject) => ({ kind: x.kind, namespace: ns(x), name: x.metadata.name });
  const out = new Map<string, PolicyObject>();
  const replaced = new Set(o.mode === 'replace' ? placed.map(ns) : []);
  for (const c of current) {
    if (replaced.has(ns(c)) && c.kind !== 'Service') continue;
    out.set(objectKey(c), c);
  }
  const seen = new Set<string>();
  for (const f of placed) {
    const key = objectKey(f);
    seen.add(key);
    const live = byKey.get(key);
    if (!live) {
      out.set(key, f);
      changes.push({ action: 'create', ...ref(f) });
      continue;
    }
    const next: PolicyObject =
      o.mode === 'server-side-apply'
        ? { ...(mergeFields(strip(live), strip(f)) as PolicyObject) }
        : { ...strip(f), metadata: { ...f.metadata } };
    if (live.metadata.creationTimestamp) next.metadata.creationTimestamp = live.metadata.creationTimestamp;
    if (sameObject(live, next)) {
      out.set(key, live); // unchanged: keep the controller's status
      changes.push({ action: 'unchanged', ...ref(f) });
    } else {
      out.set(key, next);
      changes.push({ action: 'update', ...ref(f) });
    }
  }
  if (o.mode === 'replace')
    for (const c of current)
      if (replaced.has(ns(c)) && c.kind !== 'Service' && !seen.has(objectKey(c)))
        changes.push({ action: 'delete', ...ref(c) });
  const order = { delete: 0, update: 1, create: 2, unchanged: 3 };
  changes.sort(
    (a, b) =>
      order[a.action] - order[b.action] ||
      `${a.namespace}/${a.kind}/${a.name}`.localeCompare(`${b.namespace}/${b.kind}/${b.name}`),
  );
  return { objects: [...out.values()], changes };
}

// ── the replay ──

interface Probe {
  /** How the plan names the request when outcomes differ. */
  label: string;
  req: EgressRequest;
  /**
   * The decision does not depend on which host (no route of the flow's kind on the port admits it) or
   * which off-cluster IP (checked per slice: no network lists explicit blocks) this is, beyond the
   * words: one decision serves every such destination, and its text is rewritten.
   */
  anyDestination?: 'host' | 'ip';
}

/** The objects the engine can read for one client namespace, and a fingerprint of them. */
interface Slice {
  objects: PolicyObject[];
  fingerprint: string;
  /** Some EgressNetwork lists explicit blocks: which network captures an address depends on it. */
  explicitNetworks: boolean;
  /** Service ClusterIPs (never egress). */
  serviceIps: Set<string>;
}

/**
 * Only what `decide` reads for a client: networks and routes in the client's and the global namespace,
 * routes elsewhere that attach to those networks (they take part in the status rules), and Services.
 */
function sliceFor(
  objects: PolicyObject[],
  clientNs: string,
  globalNs: string,
  assumeAccepted: Cidr[] | undefined,
): Slice {
  const near = (n: string) => n === clientNs || n === globalNs;
  const chosen = objects.filter(
    (o) =>
      o.kind === 'Service' ||
      near(ns(o)) ||
      (routeOf(o) !== undefined && egressParents(o).some((p) => near(p.namespace))),
  );
  const picked = assumeAccepted ? withComputedStatus(chosen, assumeAccepted) : chosen;
  const fingerprint = picked
    .map((o) => `${objectKey(o)}\u0000${JSON.stringify(strip(o))}\u0000${JSON.stringify(o.status ?? null)}`)
    .sort()
    .join('\u0001');
  const serviceIps = new Set(
    picked
      .filter((o) => o.kind === 'Service')
      .flatMap((o) => [o.spec?.clusterIP, ...((o.spec?.clusterIPs as unknown[] | undefined) ?? [])])
      .filter((x): x is string => typeof x === 'string'),
  );
  const explicitNetworks = picked.some((o) => o.kind === 'EgressNetwork' && networkBlocks(o) !== undefined);
  return { objects: picked, fingerprint, explicitNetworks, serviceIps };
}

const escapeRe = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The decision made for one destination, in the words of another equivalent one. */
function retext(d: Decision, from: string, to: string): Decision {
  let re: RegExp | undefined;
  // Most texts do not name the host: they are kept as they are, and the pattern is built only once
  // one does (a plan retexts a decision per flow).
  const sub = (t: string) =>
    t.includes(from)
      ? t.replace(
          (re ??= new RegExp(`(?<![A-Za-z0-9.-])${escapeRe(from)}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])`, 'g')),
          to,
        )
      : t;
  return {
    ...d,
    effect: sub(d.effect),
    steps: d.steps.map((x) => {
      const result = sub(x.result);
      return result === x.result ? x : { ...x, result };
    }),
  };
}

/**
 * The objects with the status the policy controller would write (policy/status.ts) filled in wherever
 * the controller has written none for a parent: what `decide` does with `assumeAccepted`, computed once
 * per slice instead of once per request (the replay makes tens of thousands of requests).
 */
function withComputedStatus(objects: PolicyObject[], clusterNetworks: Cidr[]): PolicyObject[] {
  const computed = routeStatuses(objects, clusterNetworks);
  return objects.map((o) => {
    const list = computed.get(o);
    if (!list) return o;
    const missing = list.filter((x) => acceptedInStatus(o, x.parentRef) === undefined);
    if (!missing.length) return o;
    const parents = (o.status?.parents as unknown[] | undefined) ?? [];
    return {
      ...o,
      status: {
        ...o.status,
        parents: [
          ...parents,
          ...missing.map((x) => ({
            parentRef: {
              group: EGRESS_GROUP,
              kind: 'EgressNetwork',
              namespace: x.parentRef.namespace,
              name: x.parentRef.name,
              ...(x.parentRef.port !== undefined ? { port: x.parentRef.port } : {}),
            },
            controllerName: CONTROLLER,
            conditions: [x.accepted, x.resolvedRefs],
          })),
        ],
      },
    };
  });
}

const PROBE_PATH = '/~egressctl-probe';
const PROBE_METHOD = 'PROBE';
const PROBE_GRPC = '/egressctl.Probe/Probe';
/** More probes than this for one flow: the routes are too many to replay by enumeration. */
const MAX_PROBES = 2048;

/** A string the regular expression matches in full, when a simple rewrite of it finds one. */
function sampleOf(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`);
  } catch {
    return undefined;
  }
  const tries = [
    pattern
      .replace(/^\^|\$$/g, '')
      .replace(/\\d/g, '0')
      .replace(/\\w/g, 'a')
      .replace(/\[\^?([^\]])[^\]]*\]/g, (m, c: string) => (m.startsWith('[^') ? 'a' : c))
      .replace(/\(\?:/g, '(')
      .replace(/\(([^|)]*)\|[^)]*\)/g, '$1')
      .replace(/[()]/g, '')
      .replace(/\.\*|\.\+/g, 'a')
      .replace(/(.)\*/g, '')
      .replace(/(.)\+/g, '$1')
      .replace(/(.)\?/g, '')
      .replace(/\{\d+(,\d*)?\}/g, '')
      .replace(/\\(.)/g, '$1'),
  ];
  return tries.find((t) => re.test(t));
}

/** Hostnames of a route admit the host (none, exact, or a wildcard), as the engine ranks them. */
function admitsHost(route: PolicyObject, host: string): boolean {
  const hostnames = (route.spec?.hostnames as string[] | undefined) ?? [];
  if (!hostnames.length) return true;
  const h = host.toLowerCase();
  return hostnames.some(
    (x) => x === h || (x.startsWith('*.') && h.endsWith(x.slice(1)) && h.length > x.length - 1),
  );
}

interface MatchDims {
  paths: Set<string>;
  methods: Set<string>;
  headers: Map<string, Record<string, string>>;
  query: Map<string, Record<string, string>>;
  /** A regular expression no sample could be found for: enumeration is incomplete. */
  unsampled: string[];
  /** Routes whose matches use regular expressions. */
  regex: string[];
}

/** The distinct values each match dimension takes across the routes that may take the flow. */
function matchDims(routes: PolicyObject[], protocol: 'http' | 'grpc'): MatchDims {
  const d: MatchDims = {
    paths: new Set([protocol === 'grpc' ? PROBE_GRPC : PROBE_PATH]),
    methods: new Set([PROBE_METHOD]),
    headers: new Map([['', {}]]),
    query: new Map([['', {}]]),
    unsampled: [],
    regex: [],
  };
  const addKV = (
    into: Map<string, Record<string, string>>,
    list: { type?: string; name: string; value: string }[] | undefined,
    route: string,
  ) => {
    if (!list?.length) return;
    const kv: Record<string, string> = {};
    for (const h of list) {
      if (h.type === 'RegularExpression') {
        d.regex.push(route);
        const s = sampleOf(h.value);
        if (s === undefined) d.unsampled.push(`${route} (${h.name} ~ ${h.value})`);
        kv[h.name] = s ?? '';
      } else kv[h.name] = h.value;
    }
    into.set(JSON.stringify(kv), kv);
  };
  for (const r of routes) {
    const name = `${r.kind} ${ns(r)}/${r.metadata.name}`;
    for (const rule of rules(r)) {
      const matches = (rule.matches as Record<string, unknown>[] | undefined) ?? [];
      for (const m of matches) {
        if (protocol === 'grpc') {
          const mm = m.method as { service?: string; method?: string; type?: string } | undefined;
          if (mm?.type === 'RegularExpression') {
            d.regex.push(name);
            d.unsampled.push(`${name} (method ~ ${mm.service ?? ''}/${mm.method ?? ''})`);
          } else if (mm) {
            const service = mm.service ?? 'egressctl.Probe';
            if (mm.method) d.paths.add(`/${service}/${mm.method}`);
            d.paths.add(`/${service}/Probe`);
          }
        } else {
          const p = m.path as { type?: string; value?: string } | undefined;
          if (p) {
            const type = p.type ?? 'PathPrefix';
            const value = p.value ?? '/';
            if (type === 'Exact') d.paths.add(value);
            else if (type === 'PathPrefix') {
              d.paths.add(value);
              d.paths.add(`${value.replace(/\/+$/, '')}${PROBE_PATH}`);
            } else {
              d.regex.push(name);
              const s = sampleOf(value);
              if (s === undefined) d.unsampled.push(`${name} (path ~ ${value})`);
              else d.paths.add(s);
            }
          }
          if (typeof m.method === 'string') d.methods.add(m.method.toUpperCase());
          addKV(d.query, m.queryParams as { type?: string; name: string; value: string }[] | undefined, name);
        }
        addKV(d.headers, m.headers as { type?: string; name: string; value: string }[] | undefined, name);
      }
    }
  }
  return d;
}

function describeProbe(
  protocol: 'http' | 'grpc',
  path: string,
  method: string | undefined,
  h: Record<string, string>,
  q: Record<string, string>,
): string {
  const p = path.endsWith(PROBE_PATH)
    ? `${path.slice(0, -PROBE_PATH.length) || ''}/<any other path>`.replace('//', '/')
    : path === PROBE_GRPC
      ? '<any other service>'
      : path.endsWith('/Probe') && protocol === 'grpc'
        ? `${path.slice(0, -'/Probe'.length)}/<any other method>`
        : path;
  const qs = Object.entries(q).map(([k, v]) => `${k}=${v}`);
  const hs = Object.entries(h).map(([k, v]) => ` ${k}: ${v}`);
  // No route names a method: the method does not matter and is not shown.
  const m = method === undefined ? '' : `${method === PROBE_METHOD ? '<any other method>' : method} `;
  return `${m}${p}${qs.length ? `?${qs.join('&')}` : ''}${hs.length ? ` with${hs.join(',')}` : ''}`;
}

function splitAddress(destination: string): { ip: string; port: number | undefined } | undefined {
  const m = /^\[?([0-9a-fA-F:.]+?)\]?:(\d*)$/.exec(destination);
  if (!m?.[1]) return undefined;
  return { ip: m[1], port: m[2] ? Number(m[2]) : undefined };
}

/** A flow's route is the one the proxy reported when network and route agree. */
function reproduces(d: Decision, f: LedgerFlow): boolean {
  if (d.inCluster) return false;
  if (f.network === null) return d.fallback;
  if (!d.network || d.network.namespace !== f.network.namespace || d.network.name !== f.network.name)
    return false;
  if (!d.route) return false;
  if (f.route.default) return d.route.default && d.route.name === f.route.name;
  return (
    !d.route.default &&
    d.route.kind === f.route.kind &&
    d.route.namespace === f.route.namespace &&
    d.route.name === f.route.name
  );
}

function toOutcome(d: Decision): PlanOutcome {
  const deciding =
    [...d.steps].reverse().find((s) => !s.rule.startsWith('Backends') && s.rule !== 'Filters') ??
    d.steps.at(-1);
  return {
    verdict: d.verdict,
    network: d.network,
    route: d.route,
    backend: d.backend,
    effect: d.effect,
    decidedBy: { rule: deciding?.rule ?? '', result: unprobed(deciding?.result ?? '') },
  };
}

/** The engine's words about a probe, without the probe's made-up method and path. */
const unprobed = (text: string) =>
  text
    .replaceAll(`${PROBE_METHOD} `, '')
    .replaceAll(PROBE_GRPC, '/<any service>')
    .replaceAll(PROBE_PATH, '/<any path>')
    .replaceAll('//<any path>', '/<any path>');

const outcomeKey = (o: PlanOutcome) =>
  [
    o.verdict,
    o.network ? `${o.network.namespace}/${o.network.name}` : '',
    o.route ? `${o.route.kind}/${o.route.namespace}/${o.route.name}` : '',
    o.backend ?? '',
  ].join('\u0000');

function classify(c: PlanOutcome, p: PlanOutcome): PlanChange {
  const passes = (o: PlanOutcome) => o.verdict !== 'deny';
  if (passes(c) && !passes(p)) return 'break';
  if (!passes(c) && passes(p)) return 'open';
  if (passes(c) && outcomeKey(c) !== outcomeKey(p)) return 'reroute';
  return 'unchanged';
}

const volumeOf = (f: LedgerFlow) =>
  f.protocol === 'http' || f.protocol === 'grpc' ? f.counts.requests : f.counts.connections;

/**
 * The plan: every flow of `ledger` replayed against `current` and `proposed` (build `proposed` with
 * `proposeObjects`). `objects` is what the proposal changes, shown with the plan. `learn` proves a
 * proposal with this: no flow it meant to keep may come back `break` or `uncertain`.
 */
export function planFlows(
  ledger: EgressLedger,
  current: PolicyObject[],
  proposed: PolicyObject[],
  ctx: PlanContext,
  objects: ObjectChange[] = [],
): PlanReport {
  const slices = new Map<string, { current: Slice; proposed: Slice }>();
  const sliceOf = (clientNs: string) => {
    let s = slices.get(clientNs);
    if (!s) {
      s = {
        current: sliceFor(
          current,
          clientNs,
          ctx.globalNamespace,
          ctx.currentAssumeAccepted ? ctx.clusterNetworks : undefined,
        ),
        proposed: sliceFor(proposed, clientNs, ctx.globalNamespace, ctx.clusterNetworks),
      };
      slices.set(clientNs, s);
    }
    return s;
  };
  const memo = new Map<string, { d: Decision; host: string }>();
  const run = (side: 'current' | 'proposed', clientNs: string, slice: Slice, probe: Probe): Decision => {
    const req = probe.req;
    const ip = req.ip === undefined ? undefined : parseIp(req.ip);
    const anyIp =
      probe.anyDestination === 'ip' &&
      ip !== undefined &&
      !slice.explicitNetworks &&
      !slice.serviceIps.has(req.ip as string) &&
      !ctx.clusterNetworks.some((c) => cidrContains(c, ip));
    const any = anyIp || probe.anyDestination === 'host';
    const key = [
      side,
      clientNs,
      req.scheme,
      any ? '*' : req.host,
      req.port,
      req.path,
      req.method,
      any ? (ip ? `*${ip.family}` : '') : (req.ip ?? ''),
      // Probes rarely carry headers or a query: only then is there anything to encode.
      Object.keys(req.headers).length ? JSON.stringify(req.headers) : '',
      req.query.length ? JSON.stringify(req.query) : '',
    ].join('\u0000');
    let e = memo.get(key);
    if (!e) {
      const d = decide(
        {
          objects: slice.objects,
          clusterNetworks: ctx.clusterNetworks,
          globalNamespace: ctx.globalNamespace,
          clientNamespace: clientNs,
          // Statuses are already filled in (withComputedStatus).
          assumeAccepted: false,
        },
        req,
      );
      e = { d, host: req.host };
      memo.set(key, e);
    }
    return e.host === req.host ? e.d : retext(e.d, e.host, req.host);
  };
  const assumptions = new Set<string>();
  // Flows that differ only by workload (many workloads call the same destinations) are judged once.
  const judged = new Map<string, Omit<PlannedFlow, 'flow'>>();
  const planned = ledger.flows.map((flow): PlannedFlow => {
    const key = shapeKey(flow);
    let j = judged.get(key);
    if (!j) {
      const { flow: _flow, ...rest } = judge(flow);
      j = rest;
      judged.set(key, j);
    }
    return { flow, ...j };
  });
  function judge(flow: LedgerFlow): PlannedFlow {
    const s = sliceOf(flow.client.namespace);
    const noChange = s.current.fingerprint === s.proposed.fingerprint;
    const probes = probesFor(flow, s, noChange);
    if ('uncertain' in probes)
      return noChange ? same(flow, null) : uncertain(flow, null, [probes.uncertain], []);
    if (probes.list.some((p) => p.req.ip === undefined)) assumptions.add(NO_IP);
    const consistent = probes.list
      .map((p) => ({ p, c: run('current', flow.client.namespace, s.current, p) }))
      .filter((x) => reproduces(x.c, flow));
    const first = consistent[0];
    if (!first) {
      if (noChange) return same(flow, null);
      return uncertain(flow, null, [notReproduced(flow)], []);
    }
    const current = toOutcome(first.c);
    if (noChange) return same(flow, current);
    const outcomes = consistent.map((x) => ({
      request: x.p.label,
      outcome: toOutcome(run('proposed', flow.client.namespace, s.proposed, x.p)),
    }));
    const distinct = new Map<string, (typeof outcomes)[number]>();
    for (const o of outcomes)
      if (!distinct.has(outcomeKey(o.outcome))) distinct.set(outcomeKey(o.outcome), o);
    const reasons = [...probes.caveats];
    // An opaque connection was not HTTP (detection would have said so), but may have been TLS with any
    // SNI: once the proposal makes its port speak TLS or HTTP, its fate depends on bytes never counted.
    const speaks = new Set(
      consistent
        .map((x) => run('proposed', flow.client.namespace, s.proposed, x.p).protocol)
        .filter((p) => p === 'tls' || p === 'http' || p === 'grpc'),
    );
    if (flow.protocol === 'tcp' && speaks.size)
      reasons.push(
        `the proposal makes port ${flow.port ?? '?'} speak ${[...speaks].join(', ')}: TCP metrics do not say whether this connection carried TLS, with which SNI, or HTTP`,
      );
    if (distinct.size > 1) reasons.unshift(dependsOn(flow));
    if (reasons.length) return uncertain(flow, current, reasons, [...distinct.values()]);
    const proposedOutcome = (first && outcomes[0]?.outcome) as PlanOutcome;
    return {
      flow,
      change: classify(current, proposedOutcome),
      current,
      proposed: proposedOutcome,
      reasons: [],
      alternatives: [],
    };
  }
  if (proposed.some((o) => routeOf(o) !== undefined && o.status === undefined))
    assumptions.add(
      'proposed routes without a status from the policy controller are taken as Accepted unless Linkerd would reject them',
    );
  const flows = PLAN_CHANGES.flatMap((c) => planned.filter((p) => p.change === c));
  const summary = Object.fromEntries(
    PLAN_CHANGES.map((c) => {
      const group = planned.filter((p) => p.change === c);
      const rates = group.map((p) => p.flow.rate);
      return [
        c,
        {
          flows: group.length,
          volume: group.reduce((a, p) => a + volumeOf(p.flow), 0),
          rate:
            ledger.window.seconds === null
              ? null
              : Math.round(rates.reduce<number>((a, r) => a + (r ?? 0), 0) * 1000) / 1000,
        },
      ];
    }),
  ) as Record<PlanChange, PlanTotals>;
  return {
    apiVersion: PLAN_API_VERSION,
    kind: 'EgressPlan',
    schemaVersion: 1,
    source: ledger.source,
    window: ledger.window,
    objects,
    summary,
    assumptions: [...assumptions].sort(),
    notices: ledger.notices,
    flows,
  };
}

/** Everything the replay reads of a flow: not its workload, counts or times. */
const shapeKey = (f: LedgerFlow) =>
  [
    f.client.namespace,
    f.network ? `${f.network.namespace}/${f.network.name}` : '',
    f.port ?? '',
    f.protocol,
    f.destination,
    f.route.kind,
    f.route.namespace,
    f.route.name,
    f.route.default,
  ].join('\u0000');

const NO_IP =
  'HTTP, gRPC and TLS metrics carry no destination IP: such flows are taken to go to an address outside the cluster networks, which only EgressNetworks without explicit networks capture';

function same(flow: LedgerFlow, current: PlanOutcome | null): PlannedFlow {
  return { flow, change: 'unchanged', current, proposed: current, reasons: [], alternatives: [] };
}

function uncertain(
  flow: LedgerFlow,
  current: PlanOutcome | null,
  reasons: string[],
  alternatives: PlannedFlow['alternatives'],
): PlannedFlow {
  return { flow, change: 'uncertain', current, proposed: null, reasons, alternatives };
}

function notReproduced(f: LedgerFlow): string {
  const route = f.route.default ? f.route.name : `${f.route.kind} ${f.route.namespace}/${f.route.name}`;
  return `the current objects do not send this flow where the proxy reported it (${f.network ? `EgressNetwork ${f.network.namespace}/${f.network.name}, ` : ''}route ${route}): the policy may have changed since the traffic was seen, or the route is not Accepted`;
}

function dependsOn(f: LedgerFlow): string {
  return f.protocol === 'tcp'
    ? 'the proposed outcome depends on whether the connection carried TLS and with which SNI, which TCP metrics do not say'
    : `the proposed outcome depends on the ${f.protocol === 'grpc' ? 'method' : 'path, method or headers'}, which route metrics do not carry`;
}

/** Every request the flow may have been, or why none can be replayed. */
function probesFor(
  flow: LedgerFlow,
  s: { current: Slice; proposed: Slice },
  noChange: boolean,
): { list: Probe[]; caveats: string[] } | { uncertain: string } {
  const caveats: string[] = [];
  if (flow.protocol === 'tcp') {
    const a = splitAddress(flow.destination);
    const port = flow.port ?? a?.port;
    if (!a || port === undefined)
      return { uncertain: `no destination address in the metrics (${JSON.stringify(flow.destination)})` };
    // Bytes that are not TLS, replayed as TLS, go where any opaque bytes go (detection and TCPRoutes
    // treat them alike), so one probe covers them, unless a TLSRoute on the port could see the TLS.
    const tlsOnPort = [...s.current.objects, ...s.proposed.objects].some(
      (o) => routeOf(o)?.protocol === 'tls' && egressParents(o).some((p) => p.port === port),
    );
    const tls: Probe = {
      label: `TLS to ${a.ip}:${port} (SNI unknown)`,
      req: req('https', a.ip, port, '/', 'GET', a.ip),
      anyDestination: 'ip',
    };
    const opaque: Probe = {
      label: `opaque TCP to ${a.ip}:${port}`,
      req: req('tcp', a.ip, port, '/', 'GET', a.ip),
      anyDestination: 'ip',
    };
    return { list: tlsOnPort ? [opaque, tls] : [tls], caveats };
  }
  const port = flow.port;
  if (port === null)
    return {
      uncertain:
        flow.network === null
          ? 'no EgressNetwork captured this flow (egress-fallback), and fallback metrics carry no port: which route the proposal would give it cannot be told'
          : 'the metrics carry no port for this flow',
    };
  if (flow.destination === '') {
    if (noChange) return { list: [], caveats };
    return {
      uncertain:
        'hostname labels are off, so the metrics name no host: add the annotation config.linkerd.io/proxy-metrics-hostname-labels: "true" to the pods (or namespace) and restart them',
    };
  }
  if (flow.protocol === 'tls') {
    const admits = [...s.current.objects, ...s.proposed.objects].some(
      (o) =>
        routeOf(o)?.protocol === 'tls' &&
        egressParents(o).some((p) => p.port === port) &&
        admitsHost(o, flow.destination),
    );
    return {
      list: [
        {
          label: `TLS with SNI ${flow.destination}`,
          req: req('https', flow.destination, port, '/', 'GET'),
          ...(admits ? {} : { anyDestination: 'host' as const }),
        },
      ],
      caveats,
    };
  }
  const protocol = flow.protocol;
  const onPort = (o: PolicyObject) =>
    routeOf(o)?.protocol === protocol &&
    egressParents(o).some((p) => p.port === port) &&
    admitsHost(o, flow.destination);
  const routesNow = s.current.objects.filter(onPort);
  const routesNext = s.proposed.objects.filter(onPort);
  const dims = matchDims([...routesNow, ...routesNext], protocol);
  const routeSet = (rs: PolicyObject[]) =>
    rs
      .map((r) => `${objectKey(r)}${JSON.stringify(r.spec)}`)
      .sort()
      .join('\u0001');
  if (dims.regex.length && routeSet(routesNow) !== routeSet(routesNext))
    caveats.push(
      `${[...new Set(dims.regex)].join(', ')} ${new Set(dims.regex).size === 1 ? 'matches' : 'match'} by regular expression and the routes for ${flow.destination} change: which requests it takes cannot be told without the path`,
    );
  else if (dims.unsampled.length)
    caveats.push(
      `no request could be built for ${dims.unsampled.join(', ')}: the replay may miss requests it takes`,
    );
  const size = dims.paths.size * dims.methods.size * dims.headers.size * dims.query.size;
  if (size > MAX_PROBES)
    return {
      uncertain: `the routes for ${flow.destination} have too many distinct matches (${size} combinations) to replay without the path`,
    };
  const list: Probe[] = [];
  const methods = protocol === 'grpc' ? ['POST'] : [...dims.methods];
  const queries = protocol === 'grpc' ? [{}] : [...dims.query.values()];
  for (const path of dims.paths)
    for (const method of methods)
      for (const headers of dims.headers.values())
        for (const query of queries)
          list.push({
            ...(routesNow.length + routesNext.length === 0 ? { anyDestination: 'host' as const } : {}),
            label: describeProbe(protocol, path, methods.length > 1 ? method : undefined, headers, query),
            req: {
              ...req(protocol === 'grpc' ? 'grpc' : 'http', flow.destination, port, path, method),
              headers,
              query: Object.entries(query),
            },
          });
  return { list, caveats };
}

function req(
  scheme: EgressRequest['scheme'],
  host: string,
  port: number,
  path: string,
  method: string,
  ip?: string,
): EgressRequest {
  return { scheme, host, port, path, method, headers: {}, query: [], ...(ip === undefined ? {} : { ip }) };
}
