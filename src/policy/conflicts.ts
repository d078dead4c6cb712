import { ROUTE_ENTRIES, precedenceText, rankOfKind } from '../kinds.js';

/**
 * The one rule for routes that share a parent port, as Linkerd's policy controller applies it (linkerd2
 * `policy-controller/k8s/index/src/outbound/index.rs`; precedence and one-per-port from src/kinds.ts):
 * - mixed route kinds on one port: only the kind of highest precedence is used, every route of a lower
 *   kind is Accepted=False, RouteReasonConflicted;
 * - a kind used once per port (TCPRoute): only the oldest is used, the others are ignored.
 * The engine, status, lint and `apply` all decide through this function. Pure.
 */

/** A route on one parent port. */
export interface RouteOnPort {
  /** The route's kind, e.g. `HTTPRoute` (both HTTPRoute groups share a precedence). */
  kind: string;
  /** Identifies the parent port, e.g. `ns/network:443`. */
  port: string;
}

export interface PortVerdict<T> {
  /** Set when a kind of higher precedence is on the port: that kind (the route is RouteReasonConflicted). */
  conflictedBy?: string;
  /** The kinds on the port, in precedence order (for messages). */
  kindsOnPort: string[];
  /** Set when the kind is used once per port and an older route of it is on the port: that route. */
  ignoredFor?: T;
}

/**
 * Verdicts for routes, which must come oldest first (Linkerd's `timestamp_then_name`): for each route,
 * whether a higher kind on its port conflicts it, and whether an older route of a one-per-port kind
 * makes it ignored. Kinds that are not route kinds are left out.
 */
export function routeConflicts<T extends RouteOnPort>(routes: readonly T[]): Map<T, PortVerdict<T>> {
  const byPort = new Map<string, T[]>();
  for (const r of routes) {
    if (rankOfKind(r.kind) === undefined) continue;
    byPort.set(r.port, [...(byPort.get(r.port) ?? []), r]);
  }
  const out = new Map<T, PortVerdict<T>>();
  for (const rs of byPort.values()) {
    const kinds = precedenceOrder(rs.map((r) => r.kind));
    const winner = kinds[0] as string;
    const winnerRank = rankOfKind(winner) as number;
    const first = new Map<string, T>();
    for (const r of rs) {
      const v: PortVerdict<T> = { kindsOnPort: kinds };
      if ((rankOfKind(r.kind) as number) > winnerRank) v.conflictedBy = winner;
      if (onePerPort(r.kind)) {
        const older = first.get(r.kind);
        if (older) v.ignoredFor = older;
        else first.set(r.kind, r);
      }
      out.set(r, v);
    }
  }
  return out;
}

/** Route kind names, each once, in precedence order (GRPCRoute first). */
export function precedenceOrder(kinds: Iterable<string>): string[] {
  return [...new Set(kinds)]
    .filter((k) => rankOfKind(k) !== undefined)
    .sort((a, b) => (rankOfKind(a) as number) - (rankOfKind(b) as number));
}

/** Only one route of this kind is used per parent port (TCPRoute). */
export const onePerPort = (kind: string): boolean =>
  ROUTE_ENTRIES.some((k) => k.kind === kind && k.route.onePerPort);

/**
 * Why a new route would conflict with the routes already on its parent port, or undefined. Mixed types
 * on one port make Linkerd accept only the highest and mark the others RouteReasonConflicted; a second
 * route of a one-per-port kind (TCPRoute) on a port is ignored.
 */
export function routeTypeConflict(
  newRoute: { kind: string; name: string; port: number; network: string; networkNamespace: string },
  existing: {
    kind: string;
    name: string;
    namespace: string;
    port: number | undefined;
    network: string;
    networkNamespace: string;
  }[],
): string | undefined {
  const same = existing.filter(
    (e) =>
      e.network === newRoute.network &&
      e.networkNamespace === newRoute.networkNamespace &&
      e.port === newRoute.port &&
      e.name !== newRoute.name,
  );
  const where = `EgressNetwork ${newRoute.networkNamespace}/${newRoute.network} port ${newRoute.port}`;
  type Entry = RouteOnPort & { e?: (typeof same)[number] };
  const mine: Entry = { kind: newRoute.kind, port: where };
  // The new route is the newest: it goes last.
  const verdict = routeConflicts<Entry>([...same.map((e) => ({ kind: e.kind, port: where, e })), mine]).get(
    mine,
  );
  const older = verdict?.ignoredFor?.e;
  if (older)
    return `${where} already has ${newRoute.kind} ${older.namespace}/${older.name}: Linkerd uses only one ${newRoute.kind} per port (the oldest)`;
  const others = same.filter((e) => e.kind !== newRoute.kind && rankOfKind(e.kind) !== undefined);
  if (!others.length || !verdict) return undefined;
  const list = others.map((e) => `${e.kind} ${e.namespace}/${e.name}`).join(', ');
  const winner = verdict.conflictedBy ?? newRoute.kind;
  return winner === newRoute.kind
    ? `${where} already has ${list}: mixing route types on a port makes Linkerd accept only ${winner} (precedence ${precedenceText()}), so those would be rejected as RouteReasonConflicted`
    : `${where} already has ${list}: Linkerd accepts only ${winner} on a port with mixed route types (precedence ${precedenceText()}), so this ${newRoute.kind} would be rejected as RouteReasonConflicted`;
}
