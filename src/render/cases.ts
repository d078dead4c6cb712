import type { CaseResult } from '../policy/cases.js';

/** The outputs of `egress check --cases FILE`, keyed by `-o`. */
export type CasesOutput = 'text' | 'json' | 'junit';

/** One line per case (`PASS`/`FAIL`, the failure indented under it), then the tally. */
export function renderCasesText(results: CaseResult[]): string {
  const lines = results.map(
    (r) => `${r.pass ? 'PASS' : 'FAIL'}  ${r.case.name}${r.pass ? '' : `\n      ${r.failure ?? ''}`}`,
  );
  const failed = results.filter((r) => !r.pass).length;
  return `${lines.join('\n')}\n\n${results.length - failed} passed, ${failed} failed\n`;
}

/** The stable `PolicyCaseResults` document. */
export function renderCasesJson(results: CaseResult[]): string {
  return `${JSON.stringify(
    {
      apiVersion: 'egressctl.linkerd.io/v1',
      kind: 'PolicyCaseResults',
      passed: results.filter((r) => r.pass).length,
      failed: results.filter((r) => !r.pass).length,
      results: results.map((r) => ({
        name: r.case.name,
        request: r.case.request,
        namespace: r.case.namespace,
        expect: r.case.expect,
        pass: r.pass,
        verdict: r.decision?.verdict ?? null,
        route: r.decision?.route ?? null,
        failure: r.failure ?? null,
      })),
    },
    null,
    2,
  )}\n`;
}

const xml = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );

/** JUnit XML as CI systems read it: one testsuite named after the cases file, one testcase per case. */
export function renderCasesJunit(results: CaseResult[], suite: string): string {
  const failed = results.filter((r) => !r.pass).length;
  const cases = results.map((r) => {
    const open = `    <testcase classname="${xml(suite)}" name="${xml(r.case.name)}">`;
    return r.pass
      ? `${open}</testcase>`
      : `${open}\n      <failure message="${xml(r.failure ?? '')}">${xml(r.failure ?? '')}</failure>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${results.length}" failures="${failed}">\n  <testsuite name="${xml(suite)}" tests="${results.length}" failures="${failed}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}

/** `casesFormats[o.output](results, { suite })`: the one place a new `-o` for cases runs is added. */
export const casesFormats: Record<CasesOutput, (results: CaseResult[], o: { suite: string }) => string> = {
  text: (r) => renderCasesText(r),
  json: (r) => renderCasesJson(r),
  junit: (r, o) => renderCasesJunit(r, o.suite),
};
