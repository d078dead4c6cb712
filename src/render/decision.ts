import type { Decision } from '../policy/engine.js';

/** The outputs of `egress check URL`, keyed by `-o`. */
export type DecisionOutput = 'text' | 'json';

/** What `egress check URL` was asked: the request as typed and the client namespace. */
export interface DecisionContext {
  request: string;
  namespace: string;
}

/** `yes`/`no`, then the short why, then each of Linkerd's rules as applied. */
export function renderDecision(d: Decision, namespace: string): string {
  const lines = [d.verdict === 'deny' ? 'no' : 'yes'];
  const field = (k: string, v: string) => lines.push(`  ${`${k}:`.padEnd(10)}${v}`);
  field('from', `namespace ${namespace}`);
  field(
    'network',
    d.network
      ? `EgressNetwork ${d.network.namespace}/${d.network.name} (trafficPolicy ${d.network.trafficPolicy})`
      : d.fallback
        ? 'none (egress-fallback)'
        : d.inCluster
          ? 'none (in-cluster)'
          : '-',
  );
  if (d.protocol) field('protocol', d.protocol);
  if (d.route)
    field(
      'route',
      d.route.default
        ? `default route ${d.route.name}`
        : `${d.route.kind} ${d.route.namespace}/${d.route.name}${d.route.rule ? `, rule ${d.route.rule}` : ''}`,
    );
  field(
    'result',
    `${d.verdict === 'redirect' ? 'redirected' : d.verdict === 'deny' ? 'denied' : 'allowed'}: ${d.effect}`,
  );
  lines.push('  why:');
  d.steps.forEach((s, i) => lines.push(`    ${i + 1}. ${s.rule}\n       → ${s.result}`));
  for (const a of d.assumptions) lines.push(`  assumed: ${a}`);
  return `${lines.join('\n')}\n`;
}

/** The stable `EgressDecision` document: the request, `allowed`, then the engine's decision as it is. */
export function renderDecisionJson(d: Decision, o: DecisionContext): string {
  return `${JSON.stringify({ apiVersion: 'egressctl.linkerd.io/v1', kind: 'EgressDecision', request: o.request, namespace: o.namespace, allowed: d.verdict !== 'deny', ...d }, null, 2)}\n`;
}

/** `decisionFormats[o.output](decision, { request, namespace })`: one place per `-o` of `egress check URL`. */
export const decisionFormats: Record<DecisionOutput, (d: Decision, o: DecisionContext) => string> = {
  text: (d, o) => renderDecision(d, o.namespace),
  json: renderDecisionJson,
};
