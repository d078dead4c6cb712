import { Chalk } from 'chalk';
import { stringify } from 'yaml';
import type { Verdict } from '../metrics/egress.js';
import { statRowKey, type StatReport, type StatRowJson } from '../metrics/stat.js';
import { kindByName } from '../kinds.js';
import { renderJsonPath, renderNames } from './jsonpath.js';
import { COLUMN_GAP, cellWidth, narrow, renderTable } from './table.js';

/** The outputs of `egress stat`, keyed by `-o`. */
export type StatOutput = 'table' | 'wide' | 'name' | 'json' | 'yaml' | 'jsonpath';

/** What each format may use: the table's options, and the `-o jsonpath=` template. */
export type StatRenderOptions = Omit<StatTableOptions, 'wide'> & { template?: string };

const fmtMs = (ms: number | undefined) =>
  ms === undefined
    ? '-'
    : ms >= 1000
      ? `${(ms / 1000).toFixed(1)}s`
      : `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)}ms`;
const fmtCount = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** Options of the stat table. */
export interface StatTableOptions {
  wide: boolean;
  color: boolean;
  /** `--no-headers`: neither the caption nor the header row. */
  headers?: boolean;
  /** The terminal's width; undefined: no limit (a pipe). `wide` ignores it. */
  columns?: number;
  /** --watch: each row's rates over the last rounds, by `statRowKey`, drawn as a TREND sparkline. */
  trend?: Map<string, number[]>;
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A sparkline of `values`, scaled to their maximum (all zero: the lowest bar). */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => SPARKS[max > 0 ? Math.min(7, Math.round((v / max) * 7)) : 0] as string).join('');
}

/**
 * A column of the table. `drop` ranks the columns left out when the table is wider than the terminal
 * (1 goes first); `narrow` columns are then cut (with `…`) down to that many characters. The order is
 * documented in the README (egress stat, "Fitting the terminal").
 */
interface Column {
  header: string;
  cell: (x: StatRowJson) => string;
  drop?: number;
  narrow?: number;
}

/** The table (`wide` adds pods, statuses and redirect targets). Denied traffic is red when `color`. */
export function renderStatTable(r: StatReport, o: StatTableOptions): string {
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
  const volume = (x: StatRowJson) => (x.connections ? x.connections.opened : x.requests);
  const all = [...r.rows, ...r.uncaptured];
  const namespaces = new Set(all.map((x) => x.pod?.namespace ?? x.workload?.namespace));
  const qualify = (ns: string, name: string) => (namespaces.size > 1 ? `${ns}/${name}` : name);
  const cols: Column[] = [
    {
      header: 'NETWORK',
      cell: (x) => (x.network ? `${x.network.namespace}/${x.network.name}` : '(uncaptured)'),
      narrow: 14,
    },
    ...(r.groupBy === 'pod'
      ? [
          {
            header: 'POD',
            cell: (x: StatRowJson) => (x.pod ? qualify(x.pod.namespace, x.pod.name) : '-'),
            narrow: 14,
          },
        ]
      : []),
    ...(r.groupBy === 'workload'
      ? [
          {
            header: 'WORKLOAD',
            cell: (x: StatRowJson) =>
              x.workload ? qualify(x.workload.namespace, `${x.workload.kind}/${x.workload.name}`) : '-',
            narrow: 14,
          },
        ]
      : []),
    { header: 'PORT', cell: (x) => (x.port === null ? '-' : String(x.port)), drop: 4 },
    { header: 'PROTO', cell: (x) => x.protocol, drop: 3 },
    {
      header: 'ROUTE',
      cell: (x) => (x.route.kind === '*' ? '*' : `${x.route.kind}/${x.route.name}`),
      narrow: 14,
    },
    { header: 'DESTINATION', cell: (x) => (x.destination === '' ? '?' : x.destination), narrow: 14 },
    { header: 'VERDICT', cell: (x) => `${paint(x.verdict, x.verdict)}${x.stale ? ', stale' : ''}` },
    {
      header: rated ? 'RATE' : 'REQ/CONN',
      cell: (x) => (rated ? `${fmtCount(x.rate ?? 0)}/s` : String(volume(x))),
    },
    ...(o.trend
      ? [{ header: 'TREND', cell: (x: StatRowJson) => sparkline(o.trend?.get(statRowKey(x)) ?? []) }]
      : []),
    {
      header: 'SUCCESS',
      cell: (x) => {
        const v = volume(x);
        return v > 0 ? `${((Math.max(0, v - x.denied - x.failed) / v) * 100).toFixed(1)}%` : '-';
      },
      drop: 5,
    },
    { header: 'DENIED', cell: (x) => (x.denied > 0 ? c.red(fmtCount(x.denied)) : '0') },
    { header: 'P50', cell: (x) => fmtMs(x.latencyMs?.p50), drop: 2 },
    { header: 'P95', cell: (x) => fmtMs(x.latencyMs?.p95), drop: 6 },
    { header: 'P99', cell: (x) => fmtMs(x.latencyMs?.p99), drop: 1 },
    ...(o.wide
      ? [
          { header: 'PODS', cell: (x: StatRowJson) => String(x.podCount ?? x.pods.length) },
          {
            header: 'STATUSES',
            cell: (x: StatRowJson) =>
              Object.entries(x.statuses)
                .map(([k, v]) => `${k}:${fmtCount(v)}`)
                .join(' ') ||
              (x.connections ? `closed:${x.connections.closed} forbidden:${x.connections.forbidden}` : '-'),
          },
          { header: 'REDIRECT', cell: (x: StatRowJson) => x.redirectTo ?? '-' },
        ]
      : []),
  ];
  const across = `${r.pods.scraped} pod(s)${r.pods.unmeshed.length ? ` (${r.pods.meshed}/${r.pods.total} meshed)` : ''}`;
  const head =
    o.headers === false
      ? ''
      : rated
        ? `Egress over the last ${r.window.mode === 'rate' ? r.window.seconds : 0}s across ${across}.\n`
        : `Egress totals since each proxy started, across ${across} (use --interval 10s for rates).\n`;
  if (all.length === 0) return `${head}No egress traffic seen.\n`;
  const fitted =
    o.wide || o.columns === undefined
      ? cols.map((k) => ({ ...k, width: Infinity }))
      : fit(cols, all, o.columns);
  return (
    head +
    renderTable(
      fitted.map((k) => k.header),
      all.map((x) => fitted.map((k) => (k.width === Infinity ? k.cell(x) : narrow(k.cell(x), k.width)))),
      { headers: o.headers !== false },
    )
  );
}

/** Drops, then narrows, columns until the table fits in `columns` characters (or nothing more can go). */
function fit(cols: Column[], rows: StatRowJson[], columns: number): (Column & { width: number })[] {
  let kept = cols.map((k) => ({
    ...k,
    width: Infinity,
    need: Math.max(cellWidth(k.header), ...rows.map((x) => cellWidth(k.cell(x)))),
  }));
  const total = () =>
    kept.reduce((n, k) => n + Math.min(k.need, k.width), 0) + COLUMN_GAP * (kept.length - 1);
  for (const rank of [...new Set(kept.map((k) => k.drop).filter((d) => d !== undefined))].sort(
    (a, b) => a - b,
  )) {
    if (total() <= columns) break;
    kept = kept.filter((k) => k.drop !== rank);
  }
  // Then the text columns give up width, the widest first, one character at a time.
  while (total() > columns) {
    const cut = kept
      .filter(
        (k) => k.narrow !== undefined && Math.min(k.need, k.width) > Math.max(k.narrow, cellWidth(k.header)),
      )
      .sort((a, b) => Math.min(b.need, b.width) - Math.min(a.need, a.width))[0];
    if (!cut) break;
    cut.width = Math.min(cut.need, cut.width) - 1;
  }
  return kept;
}

/** The table followed by the report's notices, as `note:` lines. */
function renderStatText(r: StatReport, o: StatTableOptions): string {
  let text = renderStatTable(r, o);
  for (const n of r.notices) text += `note: ${n}\n`;
  return text;
}

/**
 * `-o name`: the objects the rows are about: each route, or, for a default route (which is no object),
 * its EgressNetwork.
 */
function statNames(r: StatReport): string {
  return renderNames(
    r.rows.flatMap((x) => {
      if (x.route.default || x.route.kind === '*' || x.route.kind === 'default')
        return x.network ? [{ kind: 'EgressNetwork', group: 'policy.linkerd.io', name: x.network.name }] : [];
      return [{ kind: x.route.kind, group: kindByName(x.route.kind)?.group ?? '', name: x.route.name }];
    }),
  );
}

/** The --watch screen: a header (time, window, pods, how to stop), then the table. */
export function renderWatchFrame(
  r: StatReport | undefined,
  o: StatRenderOptions & { at: number; intervalSeconds: number; selection: string },
): string {
  const time = new Date(o.at).toISOString().slice(11, 19);
  const pods = r ? `${r.pods.scraped} pod(s)` : o.selection;
  const header = `${time} UTC   window ${o.intervalSeconds}s   ${pods}   (Ctrl-C to stop)\n\n`;
  if (!r) return `${header}waiting for the first window (${o.intervalSeconds}s) of ${o.selection}...\n`;
  return header + renderStatText(r, { ...o, wide: false });
}

/**
 * `statFormats[o.output](report, { color })`: the one place a new `-o` for `egress stat` is added. JSON
 * and YAML are the report itself (schemaVersion 1, documented in the README); colour applies to tables.
 */
export const statFormats: Record<StatOutput, (r: StatReport, o: StatRenderOptions) => string> = {
  table: (r, o) => renderStatText(r, { ...o, wide: false }),
  wide: (r, o) => renderStatText(r, { ...o, wide: true }),
  name: statNames,
  jsonpath: (r, o) => renderJsonPath(o.template ?? '', r),
  json: (r) => `${JSON.stringify(r, null, 2)}\n`,
  yaml: (r) => stringify(r),
};
