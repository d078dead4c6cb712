import { stringify } from 'yaml';
import type { ConditionView, EgressGetReport } from '../policy/egress-report.js';
import { renderTable } from './table.js';

/** The outputs of `egress get`, keyed by `-o`. */
export type GetOutput = 'table' | 'json' | 'yaml';

const cond = (c: ConditionView | undefined): string =>
  c ? (c.status === 'True' ? 'True' : `${c.status} (${c.reason ?? ''})`) : '-';

/** The table: one row per network, then its routes indented under it. */
export function renderEgressReport(r: EgressGetReport, o: { allNamespaces: boolean }): string {
  if (r.items.length === 0) return '';
  const rows: string[][] = [];
  for (const n of r.items) {
    rows.push([
      ...(o.allNamespaces ? [n.namespace] : []),
      `EgressNetwork/${n.name}`,
      n.trafficPolicy,
      '',
      n.networks,
      '',
      cond(n.accepted),
      '',
    ]);
    for (const rt of n.routes) {
      rows.push([
        ...(o.allNamespaces ? [''] : []),
        `  ${rt.kind}/${rt.namespace === n.namespace ? '' : `${rt.namespace}/`}${rt.name}`,
        '',
        String(rt.port ?? '-'),
        rt.matches,
        rt.backends,
        cond(rt.accepted),
        cond(rt.resolvedRefs),
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
  ];
  return renderTable(headers, rows);
}

/**
 * `getFormats[o.output](report, { allNamespaces })`: the one place a new `-o` for `egress get` is added.
 * JSON and YAML are the `EgressNetworkReport` document; `allNamespaces` adds the table's NAMESPACE column.
 */
export const getFormats: Record<GetOutput, (r: EgressGetReport, o: { allNamespaces: boolean }) => string> = {
  table: renderEgressReport,
  json: (r) => `${JSON.stringify(r, null, 2)}\n`,
  yaml: (r) => stringify(r),
};

/** Warnings as the commands print them on stderr: one `warning:` line each. */
export function renderWarnings(warnings: string[]): string {
  return warnings.map((w) => `warning: ${w}\n`).join('');
}
