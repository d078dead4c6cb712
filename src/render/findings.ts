import type { Finding } from '../policy/lint.js';

/** The outputs of `egress lint`, keyed by `-o`. */
export type FindingsOutput = 'text' | 'json';

/** The stable `egress lint -o json` document. */
export interface EgressLint {
  apiVersion: 'egressctl.linkerd.io/v1';
  kind: 'EgressLint';
  errors: number;
  /** Every finding that is not an error (warnings and infos). */
  warnings: number;
  findings: Finding[];
}

/** Counts the findings into the `EgressLint` document (findings keep lint's order). */
export function toEgressLint(findings: Finding[]): EgressLint {
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    apiVersion: 'egressctl.linkerd.io/v1',
    kind: 'EgressLint',
    errors,
    warnings: findings.length - errors,
    findings,
  };
}

/** One line per finding: severity, object, `(file:line)`, message, `[rule]`; then the tally. */
export function renderFindings(f: Finding[]): string {
  if (!f.length) return 'No problems found.\n';
  const lines = f.map(
    (x) =>
      `${x.severity.padEnd(7)} ${x.object}${x.location ? ` (${x.location})` : ''}: ${x.message} [${x.rule}]`,
  );
  const errors = f.filter((x) => x.severity === 'error').length;
  return `${lines.join('\n')}\n\n${errors} error(s), ${f.length - errors} warning(s)\n`;
}

export function renderFindingsJson(f: Finding[]): string {
  return `${JSON.stringify(toEgressLint(f), null, 2)}\n`;
}

/** `findingsFormats[o.output](findings)`: the one place a new `-o` for lint is added. */
export const findingsFormats: Record<FindingsOutput, (findings: Finding[]) => string> = {
  text: renderFindings,
  json: renderFindingsJson,
};
