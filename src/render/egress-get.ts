import { stringify } from 'yaml';
import type { KubeObject } from '../kube/resources.js';
import { controllerStatus } from '../policy/status.js';
import { CONTROLLER, ROUTE_KINDS, egressParents } from '../policy/types.js';
import { renderTable } from './table.js';

/** A condition as the policy controller writes it. */
export interface ConditionView {
  status: string;
  reason?: string;
  message?: string;
}

export interface RouteView {
  kind: string;
  namespace: string;
  name: string;
  port: number | undefined;
  matches: string;
  backends: string;
  accepted: ConditionView | undefined;
  resolvedRefs: ConditionView | undefined;
}

export interface NetworkView {
  namespace: string;
  name: string;
  trafficPolicy: string;
  networks: string;
  accepted: ConditionView | undefined;
  routes: RouteView[];
}

/** The stable `egress get -o json|yaml` document. */
export interface EgressGetReport {
  apiVersion: 'egressctl.linkerd.io/v1';
  kind: 'EgressNetworkReport';
  items: NetworkView[];
  warnings: string[];
}

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

function condition(list: unknown, type: string): ConditionView | undefined {
  const c = (Array.isArray(list) ? (list as Condition[]) : []).find((x) => x.type === type);
  if (!c) return undefined;
  return {
    status: c.status ?? 'Unknown',
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  };
}

function describeNetworks(spec: Record<string, unknown> | undefined): string {
  const nets = spec?.networks as { cidr?: string; except?: string[] }[] | undefined;
  if (!nets) return '(all off-cluster)';
  return nets
    .map((n) => `${n.cidr ?? '?'}${n.except?.length ? ` except ${n.except.join(',')}` : ''}`)
    .join('; ');
}

function describeMatches(r: Obj): string {
  const spec = r.spec ?? {};
  const hosts = (spec.hostnames as string[] | undefined) ?? [];
  const parts: string[] = [];
  for (const rule of (spec.rules as { matches?: Record<string, unknown>[] }[] | undefined) ?? []) {
    for (const m of rule.matches ?? []) {
      const path = m.path as { type?: string; value?: string } | undefined;
      const method = m.method as string | { service?: string; method?: string } | undefined;
      const bits: string[] = [];
      if (typeof method === 'string') bits.push(method);
      else if (method) bits.push([method.service, method.method].filter(Boolean).join('/'));
      if (path?.value)
        bits.push(
          `${path.value}${path.type === 'Exact' ? '' : path.type === 'RegularExpression' ? ' (regex)' : '*'}`,
        );
      const headers = (m.headers as { name: string; value: string }[] | undefined) ?? [];
      for (const h of headers) bits.push(`${h.name}=${h.value}`);
      if (bits.length) parts.push(bits.join(' '));
    }
  }
  const host = hosts.length ? hosts.join(',') : '*';
  return parts.length ? `${host} ${parts.join(' | ')}` : host;
}

function describeBackends(r: Obj, parent: string): string {
  const refs = ((r.spec?.rules as { backendRefs?: Record<string, unknown>[] }[] | undefined) ?? []).flatMap(
    (x) => x.backendRefs ?? [],
  );
  if (refs.length === 0) return 'original destination';
  return refs
    .map((b) => {
      const kind = (b.kind as string | undefined) ?? 'Service';
      if (kind === 'EgressNetwork')
        return b.name === parent ? 'original destination' : `EgressNetwork/${String(b.name)} (invalid)`;
      return `${kind === 'Service' ? 'svc' : kind}/${String(b.name)}${typeof b.port === 'number' ? `:${b.port}` : ''}`;
    })
    .join(', ');
}

/**
 * Joins EgressNetworks with the routes attached to them (parentRefs with group policy.linkerd.io and kind
 * EgressNetwork; the namespace defaults to the route's) and collects the warnings `egress get` prints.
 */
export function toEgressReport(objects: KubeObject[], o: { globalNamespace: string }): EgressGetReport {
  const objs = objects as Obj[];
  const networks = objs.filter((x) => x.kind === 'EgressNetwork');
  const routes = objs.filter((x) => (ROUTE_KINDS as readonly string[]).includes(x.kind));
  const warnings: string[] = [];
  const items = networks.map((n): NetworkView => {
    const ns = n.metadata.namespace ?? '';
    const attached: RouteView[] = [];
    for (const r of routes) {
      const rns = r.metadata.namespace ?? '';
      for (const p of egressParents(r)) {
        if (p.name !== n.metadata.name || p.namespace !== ns) continue;
        const st = controllerStatus(r, p);
        const view: RouteView = {
          kind: r.kind,
          namespace: rns,
          name: r.metadata.name,
          port: p.port,
          matches: describeMatches(r),
          backends: describeBackends(r, n.metadata.name),
          accepted: condition(st?.conditions, 'Accepted'),
          resolvedRefs: condition(st?.conditions, 'ResolvedRefs'),
        };
        attached.push(view);
        const id = `${r.kind} ${rns}/${r.metadata.name}`;
        if (p.group !== 'policy.linkerd.io')
          warnings.push(
            `${id}: its parentRef to EgressNetwork ${ns}/${n.metadata.name} has no group policy.linkerd.io, so Linkerd ignores it`,
          );
        if (p.port === undefined)
          warnings.push(
            `${id}: its parentRef to EgressNetwork ${ns}/${n.metadata.name} has no port; Linkerd rejects it`,
          );
        if (!view.accepted)
          warnings.push(
            `${id} is not yet accepted by ${CONTROLLER} on port ${p.port ?? '?'}: it has no effect until then`,
          );
        else if (view.accepted.status !== 'True') {
          const why =
            view.accepted.reason === 'RouteReasonConflicted'
              ? 'it conflicts with another route type on the same port'
              : (view.accepted.message ?? '');
          warnings.push(
            `${id} is not accepted (${view.accepted.reason ?? 'no reason'}${why ? `: ${why}` : ''}): it has no effect`,
          );
        }
        if (view.resolvedRefs && view.resolvedRefs.status !== 'True') {
          warnings.push(
            `${id} has unresolved backends (${view.resolvedRefs.reason ?? ''}${view.resolvedRefs.message ? `: ${view.resolvedRefs.message}` : ''})`,
          );
        }
      }
    }
    attached.sort(
      (a, b) => (a.port ?? 0) - (b.port ?? 0) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
    );
    const accepted = condition(n.status?.conditions, 'Accepted');
    if (accepted && accepted.status !== 'True') {
      warnings.push(
        `EgressNetwork ${ns}/${n.metadata.name} is not accepted (${accepted.reason ?? ''}${accepted.message ? `: ${accepted.message}` : ''}): its routes are rejected`,
      );
    }
    return {
      namespace: ns,
      name: n.metadata.name,
      trafficPolicy: typeof n.spec?.trafficPolicy === 'string' ? n.spec.trafficPolicy : '',
      networks: describeNetworks(n.spec),
      accepted,
      routes: attached,
    };
  });
  const global = items.filter((i) => i.namespace === o.globalNamespace);
  const locals = [...new Set(items.filter((i) => i.namespace !== o.globalNamespace).map((i) => i.namespace))];
  if (global.length > 0) {
    for (const ns of locals) {
      warnings.push(
        `namespace ${ns} has its own EgressNetworks, which shadow ALL global ones in ${o.globalNamespace} for its clients (${global.map((g) => g.name).join(', ')} do not apply there)`,
      );
    }
  }
  const conflicts = new Map<string, Set<string>>();
  for (const i of items) {
    for (const r of i.routes) {
      const key = `${i.namespace}/${i.name}:${r.port ?? '?'}`;
      conflicts.set(key, (conflicts.get(key) ?? new Set()).add(r.kind));
    }
  }
  for (const [key, kinds] of conflicts) {
    if (kinds.size > 1) {
      const order = ROUTE_KINDS.filter((k) => kinds.has(k));
      warnings.push(
        `EgressNetwork ${key} mixes ${order.join(', ')}: Linkerd uses ${order[0] ?? ''} and rejects the others (RouteReasonConflicted)`,
      );
    }
  }
  return { apiVersion: 'egressctl.linkerd.io/v1', kind: 'EgressNetworkReport', items, warnings };
}

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

/** `egress get` in the chosen `-o` format: the table, or the report as JSON or YAML. */
export function renderEgressGet(
  r: EgressGetReport,
  output: 'table' | 'json' | 'yaml',
  o: { allNamespaces: boolean },
): string {
  if (output === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (output === 'yaml') return stringify(r);
  return renderEgressReport(r, o);
}
