import type { Decision } from '../policy/engine.js';

/** `egress check -o text`: `yes`/`no`, then the short why, then each of Linkerd's rules as applied. */
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

/** `egress check -o json`: the EgressDecision document (documented in the README). */
export function renderDecisionJson(d: Decision, request: string, namespace: string): string {
  return `${JSON.stringify({ apiVersion: 'egressctl.linkerd.io/v1', kind: 'EgressDecision', request, namespace, allowed: d.verdict !== 'deny', ...d }, null, 2)}\n`;
}
