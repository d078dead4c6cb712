import { Chalk } from 'chalk';
import { stringify } from 'yaml';
import { quantile, verdictOf, type EgressRow, type GroupBy, type Verdict } from '../metrics/egress.js';
import { renderTable } from './table.js';

/** One row of `egress stat -o json` (schemaVersion 1; documented in the README). */
export interface StatRowJson {
  network: { namespace: string; name: string } | null;
  port: number | null;
  protocol: 'http' | 'grpc' | 'tls' | 'tcp';
  route: { kind: string; namespace: string; name: string; default: boolean };
  destination: string;
  verdict: Verdict;
  redirectTo: string | null;
  requests: number;
  statuses: Record<string, number>;
  connections: { opened: number; closed: number; forbidden: number } | null;
  denied: number;
  failed: number;
  /** Per second over the window; null for totals. */
  rate: number | null;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  pods: string[];
}

export interface StatReport {
  apiVersion: 'egressctl.linkerd.io/v1';
  kind: 'EgressStat';
  schemaVersion: 1;
  window: { mode: 'total' } | { mode: 'rate'; seconds: number };
  groupBy: GroupBy;
  pods: { scraped: number; failed: { namespace: string; pod: string; error: string }[] };
  notices: string[];
  rows: StatRowJson[];
  uncaptured: StatRowJson[];
  totals: { requests: number; connections: number; denied: number; failed: number; redirected: number };
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

function toRowJson(r: EgressRow, seconds: number | undefined): StatRowJson {
  const c = r.counts;
  const isReq = r.protocol === 'http' || r.protocol === 'grpc';
  const volume = isReq ? c.requests : c.opened;
  const q = (p: number) => quantile(p, c.buckets);
  const p50 = q(0.5);
  return {
    network: r.network ? { namespace: r.network.namespace, name: r.network.name } : null,
    port: r.port === '' ? null : Number(r.port),
    protocol: r.protocol,
    route: { ...r.route },
    destination: r.destination,
    verdict: verdictOf(r),
    redirectTo: r.redirectTo ?? null,
    requests: isReq ? c.requests : 0,
    statuses: Object.fromEntries(Object.entries(c.statuses).sort(([a], [b]) => a.localeCompare(b))),
    connections: isReq ? null : { opened: c.opened, closed: c.closed, forbidden: c.forbidden },
    denied: c.denied,
    failed: c.failed,
    rate: seconds ? round(volume / seconds) : null,
    latencyMs:
      p50 === undefined
        ? null
        : {
            p50: round((p50 ?? 0) * 1000, 1),
            p95: round((q(0.95) ?? 0) * 1000, 1),
            p99: round((q(0.99) ?? 0) * 1000, 1),
          },
    pods: [...r.pods].sort(),
  };
}

/** Builds the report every output format renders. */
export function toStatReport(
  rows: EgressRow[],
  o: {
    seconds: number | undefined;
    groupBy: GroupBy;
    scraped: number;
    failed: { namespace: string; pod: string; error: string }[];
    hostnamesOff: string[];
  },
): StatReport {
  const all = rows.map((r) => toRowJson(r, o.seconds));
  const notices: string[] = [];
  if (o.hostnamesOff.length) {
    notices.push(
      `hostname labels are off for ${o.hostnamesOff.length === 1 ? `pod ${o.hostnamesOff[0]}` : `${o.hostnamesOff.length} pods`}, so HTTP, gRPC and TLS destinations show as "?": ` +
        `add the annotation config.linkerd.io/proxy-metrics-hostname-labels: "true" to the pod template or namespace and restart the pods`,
    );
  }
  const totals = { requests: 0, connections: 0, denied: 0, failed: 0, redirected: 0 };
  for (const r of all) {
    totals.requests += r.requests;
    totals.connections += r.connections?.opened ?? 0;
    totals.denied += r.denied;
    totals.failed += r.failed;
    if (r.verdict === 'redirected') totals.redirected += r.requests;
  }
  return {
    apiVersion: 'egressctl.linkerd.io/v1',
    kind: 'EgressStat',
    schemaVersion: 1,
    window: o.seconds ? { mode: 'rate', seconds: o.seconds } : { mode: 'total' },
    groupBy: o.groupBy,
    pods: { scraped: o.scraped, failed: o.failed },
    notices,
    rows: all.filter((r) => r.network !== null),
    uncaptured: all.filter((r) => r.network === null),
    totals,
  };
}

const fmtMs = (ms: number | undefined) =>
  ms === undefined
    ? '-'
    : ms >= 1000
      ? `${(ms / 1000).toFixed(1)}s`
      : `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)}ms`;
const fmtCount = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** The table (`wide` adds pods, statuses and redirect targets). Denied traffic is red when `color`. */
export function renderStatTable(r: StatReport, o: { wide: boolean; color: boolean }): string {
  const c = new Chalk({ level: o.color ? 1 : 0 });
  const paint = (v: Verdict, s: string) =>
    v === 'denied'
      ? c.red(s)
      : v === 'failed'
        ? c.yellow(s)
        : v === 'redirected'
          ? c.cyan(s)
          : v === 'mixed'
            ? c.magenta(s)
            : c.green(s);
  const rated = r.window.mode === 'rate';
  const headers = [
    'NETWORK',
    'PORT',
    'PROTO',
    'ROUTE',
    'DESTINATION',
    'VERDICT',
    rated ? 'RATE' : 'REQ/CONN',
    'SUCCESS',
    'DENIED',
    'P50',
    'P95',
    'P99',
    ...(o.wide ? ['PODS', 'STATUSES', 'REDIRECT'] : []),
  ];
  const line = (x: StatRowJson): string[] => {
    const volume = x.connections ? x.connections.opened : x.requests;
    const ok = volume - x.denied - x.failed;
    const success = volume > 0 ? `${((Math.max(0, ok) / volume) * 100).toFixed(1)}%` : '-';
    const route = x.route.kind === '*' ? '*' : `${x.route.kind}/${x.route.name}`;
    return [
      x.network ? `${x.network.namespace}/${x.network.name}` : '(uncaptured)',
      x.port === null ? '-' : String(x.port),
      x.protocol,
      route,
      x.destination === '' ? '?' : x.destination,
      paint(x.verdict, x.verdict),
      rated ? `${fmtCount(x.rate ?? 0)}/s` : String(volume),
      success,
      x.denied > 0 ? c.red(fmtCount(x.denied)) : '0',
      fmtMs(x.latencyMs?.p50),
      fmtMs(x.latencyMs?.p95),
      fmtMs(x.latencyMs?.p99),
      ...(o.wide
        ? [
            String(x.pods.length),
            Object.entries(x.statuses)
              .map(([k, v]) => `${k}:${fmtCount(v)}`)
              .join(' ') ||
              (x.connections ? `closed:${x.connections.closed} forbidden:${x.connections.forbidden}` : '-'),
            x.redirectTo ?? '-',
          ]
        : []),
    ];
  };
  const rows = [...r.rows, ...r.uncaptured].map(line);
  const head = rated
    ? `Egress over the last ${r.window.mode === 'rate' ? r.window.seconds : 0}s across ${r.pods.scraped} pod(s).\n`
    : `Egress totals since each proxy started, across ${r.pods.scraped} pod(s) (use --interval 10s for rates).\n`;
  if (rows.length === 0) return `${head}No egress traffic seen.\n`;
  return head + renderTable(headers, rows);
}

/** `egress stat` in the chosen `-o` format: the table with its notes, or the report as JSON or YAML. */
export function renderStatReport(
  r: StatReport,
  output: 'table' | 'wide' | 'json' | 'yaml',
  o: { color: boolean },
): string {
  if (output === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (output === 'yaml') return stringify(r);
  let text = renderStatTable(r, { wide: output === 'wide', color: o.color });
  for (const n of r.notices) text += `note: ${n}\n`;
  return text;
}
