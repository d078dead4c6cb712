import { stringify } from 'yaml';
import type {
  BackendView,
  ConditionView,
  EgressGetReport,
  MatchView,
  NetworkView,
  RouteView,
} from '../policy/egress-report.js';
import { renderJsonPath, renderNames } from './jsonpath.js';
import { renderTable } from './table.js';

/** The outputs of `egress get`, keyed by `-o` (`jsonpath=TEMPLATE` carries its template in the options). */
export type GetOutput = 'table' | 'wide' | 'name' | 'json' | 'yaml' | 'jsonpath';

export interface GetRenderOptions {
  allNamespaces: boolean;
  /** `--no-headers` (tables only). */
  headers?: boolean;
  /** The `-o jsonpath=` template. */
  template?: string;
}

const cond = (c: ConditionView | undefined): string =>
  c ? (c.status === 'True' ? 'True' : `${c.status} (${c.reason ?? ''})`) : '-';

/** The table's notation for networks: the default says so in words, others are CIDRs. */
function networksText(n: NetworkView, wide: boolean): string {
  if (n.networksDefaulted && !wide) return '(all off-cluster)';
  const text = n.networks
    .map((x) => `${x.cidr}${x.except.length ? ` except ${x.except.join(',')}` : ''}`)
    .join('; ');
  return n.networksDefaulted ? `${text} (default)` : text;
}

/**
 * A path match in words, never as a glob: Gateway API's PathPrefix matches whole path segments
 * (`prefix /get` matches /get and /get/x, not /getter).
 */
const PATH_WORD = { Exact: 'exact', PathPrefix: 'prefix', RegularExpression: 'regex' } as const;

function matchText(m: MatchView): string {
  const bits: string[] = [];
  if (typeof m.method === 'string') bits.push(m.method);
  else if (m.method)
    bits.push(
      `${m.method.type === 'RegularExpression' ? 'regex ' : ''}${[m.method.service ?? '*', m.method.method ?? '*'].join('/')}`,
    );
  if (m.path) bits.push(`${PATH_WORD[m.path.type]} ${m.path.value}`);
  for (const h of m.headers ?? []) bits.push(`${h.name}${h.type === 'Exact' ? '=' : '~'}${h.value}`);
  for (const q of m.queryParams ?? []) bits.push(`?${q.name}${q.type === 'Exact' ? '=' : '~'}${q.value}`);
  return bits.join(' ');
}

/** `HOSTS MATCH | MATCH`, hosts `*` when the route names none. */
function matchesText(r: RouteView): string {
  const host = r.hostnames.length ? r.hostnames.join(',') : '*';
  const parts = r.matches.map(matchText).filter((x) => x !== '');
  return parts.length ? `${host} ${parts.join(' | ')}` : host;
}

function backendText(b: BackendView, routeNamespace: string): string {
  if ('original' in b) return 'original destination';
  const ns = b.namespace === routeNamespace ? '' : `${b.namespace}/`;
  const kind = b.kind === 'Service' ? 'svc' : b.kind;
  return `${kind}/${ns}${b.name}${b.port !== null ? `:${b.port}` : ''}${b.invalid ? ' (invalid)' : ''}`;
}

/** The table: one row per network, then its routes indented under it. `wide` adds the route's group. */
export function renderEgressReport(
  r: EgressGetReport,
  o: { allNamespaces: boolean; wide?: boolean; headers?: boolean },
): string {
  if (r.items.length === 0) return '';
  const wide = o.wide === true;
  const rows: string[][] = [];
  for (const n of r.items) {
    rows.push([
      ...(o.allNamespaces ? [n.namespace] : []),
      `EgressNetwork/${n.name}`,
      n.trafficPolicy,
      '',
      networksText(n, wide),
      '',
      cond(n.accepted),
      '',
      ...(wide ? ['policy.linkerd.io'] : []),
    ]);
    for (const rt of n.routes) {
      rows.push([
        ...(o.allNamespaces ? [''] : []),
        `  ${rt.kind}/${rt.namespace === n.namespace ? '' : `${rt.namespace}/`}${rt.name}`,
        '',
        String(rt.port ?? '-'),
        matchesText(rt),
        rt.backends.map((b) => backendText(b, rt.namespace)).join(', '),
        cond(rt.accepted),
        cond(rt.resolvedRefs),
        ...(wide ? [rt.group] : []),
      ]);
    }
  }
  const headers = [
    ...(o.allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    'POLICY',
    'PORT',
    'MATCHES',
    'BACKENDS',
    'ACCEPTED',
    'RESOLVED',
    ...(wide ? ['GROUP'] : []),
  ];
  return renderTable(headers, rows, { headers: o.headers !== false });
}

/** Every object the report lists, networks first and each network's routes after it. */
const names = (r: EgressGetReport) =>
  renderNames(
    r.items.flatMap((n) => [
      { kind: 'EgressNetwork', group: 'policy.linkerd.io', name: n.name },
      ...n.routes.map((x) => ({ kind: x.kind, group: x.group, name: x.name })),
    ]),
  );

/**
 * `getFormats[o.output](report, options)`: the one place a new `-o` for `egress get` is added. JSON,
 * YAML and jsonpath's input are the `EgressNetworkReport` document (schemaVersion 2, documented in the
 * README); `allNamespaces` adds the table's NAMESPACE column.
 */
export const getFormats: Record<GetOutput, (r: EgressGetReport, o: GetRenderOptions) => string> = {
  table: (r, o) => renderEgressReport(r, o),
  wide: (r, o) => renderEgressReport(r, { ...o, wide: true }),
  name: names,
  json: (r) => `${JSON.stringify(r, null, 2)}\n`,
  yaml: (r) => stringify(r),
  jsonpath: (r, o) => renderJsonPath(o.template ?? '', r),
};

/** Warnings as the commands print them on stderr: one `warning:` line each. */
export function renderWarnings(warnings: string[]): string {
  return warnings.map((w) => `warning: ${w}\n`).join('');
}
