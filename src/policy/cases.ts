import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';
import { decide, parseRequestUrl, type Decision, type PolicyInput, type Verdict } from './engine.js';

/**
 * Policy test files: requests with their expected verdict (and optionally the route), checked against
 * manifests in CI.
 *
 *   namespace: egress-test          # the client namespace (a case may override it)
 *   cases:
 *     - name: GET /get is allowed
 *       request: http://httpbin.org/get
 *       method: GET                 # optional; also headers: {k: v}, ip: 203.0.113.10
 *       expect: allow               # allow | deny | redirect
 *       route: HTTPRoute/httpbin-get  # optional: Kind/name, or default/<name>
 */
export interface PolicyCase {
  name: string;
  request: string;
  method?: string;
  headers?: Record<string, string>;
  ip?: string;
  namespace: string;
  expect: Verdict;
  route?: string;
}

export function parseCases(text: string, source: string, defaultNamespace: string): PolicyCase[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new UsageError(`${source}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const d = doc as { namespace?: string; cases?: unknown[] } | null;
  if (!d || !Array.isArray(d.cases))
    throw new UsageError(`${source}: want a mapping with a "cases" list (see examples/guide-cases.yaml)`);
  return d.cases.map((c, i) => {
    const x = c as Record<string, unknown>;
    const where = `${source}: case ${i + 1}`;
    if (typeof x.request !== 'string')
      throw new UsageError(`${where}: "request" must be a URL such as https://api.stripe.com`);
    if (x.expect !== 'allow' && x.expect !== 'deny' && x.expect !== 'redirect')
      throw new UsageError(`${where}: "expect" must be allow, deny or redirect`);
    return {
      name: typeof x.name === 'string' ? x.name : `${x.expect} ${x.request}`,
      request: x.request,
      ...(typeof x.method === 'string' ? { method: x.method } : {}),
      ...(x.headers && typeof x.headers === 'object' ? { headers: x.headers as Record<string, string> } : {}),
      ...(typeof x.ip === 'string' ? { ip: x.ip } : {}),
      namespace: typeof x.namespace === 'string' ? x.namespace : (d.namespace ?? defaultNamespace),
      expect: x.expect,
      ...(typeof x.route === 'string' ? { route: x.route } : {}),
    };
  });
}

export interface CaseResult {
  case: PolicyCase;
  pass: boolean;
  /** Why it failed, or undefined. */
  failure?: string;
  decision?: Decision;
}

export function runCases(cases: PolicyCase[], input: Omit<PolicyInput, 'clientNamespace'>): CaseResult[] {
  return cases.map((c) => {
    let d: Decision;
    try {
      d = decide({ ...input, clientNamespace: c.namespace }, parseRequestUrl(c.request, c));
    } catch (e) {
      return { case: c, pass: false, failure: (e as Error).message };
    }
    const route = d.route ? `${d.route.kind}/${d.route.name}` : d.fallback ? 'default/egress-fallback' : '';
    if (d.verdict !== c.expect)
      return {
        case: c,
        pass: false,
        decision: d,
        failure: `expected ${c.expect}, got ${d.verdict} (${route || 'no route'}: ${d.effect})`,
      };
    if (c.route && c.route !== route)
      return {
        case: c,
        pass: false,
        decision: d,
        failure: `expected route ${c.route}, got ${route || 'none'}`,
      };
    return { case: c, pass: true, decision: d };
  });
}
