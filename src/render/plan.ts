import { Chalk } from 'chalk';
import type { LedgerFlow } from '../metrics/ledger.js';
import {
  PLAN_CHANGES,
  type PlanChange,
  type PlanOutcome,
  type PlanReport,
  type PlannedFlow,
} from '../policy/plan.js';
import { renderTable } from './table.js';

/** The outputs of `egress plan` (and `--plan`), keyed by `-o`. */
export type PlanOutput = 'table' | 'json';

const TITLES: Record<PlanChange, string> = {
  break: 'Would break',
  uncertain: 'Uncertain',
  reroute: 'Rerouted',
  open: 'Would open',
  unchanged: 'Unchanged',
};

const ACTION_MARK = { create: '+', update: '~', delete: '-', unchanged: '=' } as const;

const fmtRate = (r: number | null) => (r === null ? '-' : `${r}/s`);

const client = (f: LedgerFlow) =>
  `${f.client.namespace}/${f.client.workload.kind === 'pod' ? 'po' : f.client.workload.kind}/${f.client.workload.name}`;

/** `allow HTTPRoute ns/name rule 1`, `deny http-egress-deny`, `redirect HTTPRoute ns/r → ns/svc:80`. */
export function outcomeText(o: PlanOutcome | null): string {
  if (!o) return '?';
  const route = !o.route
    ? o.network
      ? '-'
      : 'egress-fallback'
    : o.route.default
      ? o.route.name
      : `${o.route.kind} ${o.route.namespace}/${o.route.name}${o.route.rule ? ` rule ${o.route.rule}` : ''}`;
  return `${o.verdict} ${route}${o.verdict === 'redirect' && o.backend ? ` → ${o.backend}` : ''}`;
}

function groupLine(r: PlanReport, c: PlanChange): string {
  const s = r.summary[c];
  const rate = r.window.seconds === null ? `${s.volume} requests/connections` : fmtRate(s.rate);
  return `${TITLES[c]}: ${s.flows} flow${s.flows === 1 ? '' : 's'} (${rate})`;
}

/**
 * Like `terraform plan`: the object changes, then each group of flows with its count and rate, the
 * current and proposed outcome, and what decided it; uncertain flows say why and list the outcomes.
 * Unchanged flows are counted, not listed (`-o json` has them all).
 */
export function renderPlanTable(r: PlanReport, o: { color: boolean }): string {
  const c = new Chalk({ level: o.color ? 1 : 0 });
  const paint: Record<PlanChange, (s: string) => string> = {
    break: (s) => c.red(s),
    uncertain: (s) => c.yellow(s),
    reroute: (s) => c.cyan(s),
    open: (s) => c.magenta(s),
    unchanged: (s) => s,
  };
  const out: string[] = [];
  const win =
    r.window.seconds === null
      ? 'totals since each proxy started'
      : `${r.window.seconds}s window ending ${r.window.end}`;
  out.push(`Flows: ${r.flows.length} from ${sourceText(r)} (${win})`);
  if (r.objects.length) {
    out.push('', 'Objects:');
    for (const x of r.objects)
      out.push(`  ${ACTION_MARK[x.action]} ${x.action} ${x.kind} ${x.namespace}/${x.name}`);
  }
  for (const change of PLAN_CHANGES) {
    const group = r.flows.filter((p) => p.change === change);
    if (change === 'unchanged' || !group.length) continue;
    out.push('', paint[change](`${groupLine(r, change)}:`));
    const rows = group.map((p) => [
      client(p.flow),
      p.flow.network ? `${p.flow.network.namespace}/${p.flow.network.name}` : '-',
      String(p.flow.port ?? '-'),
      p.flow.protocol,
      p.flow.destination || '?',
      r.window.seconds === null ? String(volume(p.flow)) : fmtRate(p.flow.rate),
      outcomeText(p.current),
      outcomeText(p.proposed),
    ]);
    const table = renderTable(
      [
        'CLIENT',
        'NETWORK',
        'PORT',
        'PROTO',
        'DESTINATION',
        r.window.seconds === null ? 'COUNT' : 'RATE',
        'NOW',
        'PROPOSED',
      ],
      rows,
    )
      .trimEnd()
      .split('\n');
    out.push(...table.slice(0, 1).map((l) => `  ${l}`));
    group.forEach((p, i) => {
      out.push(`  ${table[i + 1] ?? ''}`);
      out.push(...detail(p).map((l) => `      ${l}`));
    });
  }
  out.push('', groupLine(r, 'unchanged'));
  for (const a of r.assumptions) out.push(`assumed: ${a}`);
  for (const n of r.notices) out.push(`notice: ${n}`);
  const s = r.summary;
  out.push(
    '',
    `Plan: ${s.break.flows} would break, ${s.uncertain.flows} uncertain, ${s.reroute.flows} rerouted, ${s.open.flows} would open, ${s.unchanged.flows} unchanged.`,
  );
  return `${out.join('\n')}\n`;
}

const volume = (f: LedgerFlow) =>
  f.protocol === 'http' || f.protocol === 'grpc' ? f.counts.requests : f.counts.connections;

function detail(p: PlannedFlow): string[] {
  if (p.change === 'uncertain')
    return [
      ...p.reasons.map((x) => `why: ${x}`),
      ...p.alternatives.map((a) => `if ${a.request}: ${outcomeText(a.outcome)}`),
    ];
  return p.proposed ? [`by: ${p.proposed.decidedBy.result}`] : [];
}

function sourceText(r: PlanReport): string {
  const s = r.source;
  return s.kind === 'pods'
    ? `${s.scraped} pod${s.scraped === 1 ? '' : 's'} (${s.selection})`
    : s.kind === 'file'
      ? s.path
      : s.url;
}

export const planFormats: Record<PlanOutput, (r: PlanReport, o: { color: boolean }) => string> = {
  table: renderPlanTable,
  json: (r) => `${JSON.stringify(r, null, 2)}\n`,
};
