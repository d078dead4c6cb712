import type { AdminFault } from './proxy-admin.js';

/** Per-pod misbehaviour, to test that egressctl reports each failure precisely. */
export type PodFault =
  /** 403 Forbidden from RBAC on pods/portforward (JSON Status, before the upgrade). */
  | 'forbid-portforward'
  /** The kubelet finds no running sandbox: 500 text before the upgrade (the pod's phase is separate data). */
  | 'not-running'
  /** The kubelet reports "connection refused" on the error channel, then closes with 1000. */
  | 'refuse'
  /** The WebSocket opens and sends the port frames, then nothing ever arrives. */
  | 'hang'
  /** The proxy answers 500. */
  | AdminFault;

/**
 * The API server's fault switches, mutable while it serves. Each part reads only its own switches:
 * discovery and REST `notServed`, authorization `deny`, the kubelet bridge `pods` and `hangUpgrades`,
 * the request entry `hangAll`.
 */
export interface Faults {
  /** Per `namespace/pod`. */
  pods: Map<string, PodFault>;
  /** Denied (verb, resource, namespace?) triples, answered 403 like RBAC. resource may be `pods/portforward`. */
  deny: { verb: string; resource: string; namespace?: string }[];
  /** Kinds (by `plural.group`, e.g. `tlsroutes.gateway.networking.k8s.io`) not installed: "CRD missing". */
  notServed: Set<string>;
  /** Accept TCP and never answer the HTTP request (handshake timeouts). */
  hangAll: boolean;
  /** Answer REST requests but never complete a WebSocket upgrade (port-forward handshake timeouts). */
  hangUpgrades: boolean;
  /**
   * Canned error answers, consumed in order by the first requests or upgrades whose `METHOD path`
   * matches: 429/500/503 with a Status body and `Retry-After`, as an overloaded API server sends them
   * (apiserver's max-in-flight filter answers 429 with Retry-After: 1).
   */
  answer: CannedAnswer[];
}

export interface CannedAnswer {
  status: 429 | 500 | 503;
  /** `Retry-After` in seconds; absent: no header. */
  retryAfterSeconds?: number;
  /** Tested against `METHOD /path` (e.g. `GET /api/v1/namespaces/ns/pods/p/portforward`). */
  match: RegExp;
  /** How many matching requests get this answer before it is used up. */
  times: number;
}

/** Takes the first canned answer for `METHOD path`, counting it down; undefined: serve normally. */
export function takeAnswer(f: Faults, method: string, path: string): CannedAnswer | undefined {
  const line = `${method} ${path}`;
  const i = f.answer.findIndex((a) => a.times > 0 && a.match.test(line));
  const a = f.answer[i];
  if (!a) return undefined;
  if (--a.times === 0) f.answer.splice(i, 1);
  return a;
}

/** Every switch off: a well-behaved cluster. */
export const noFaults = (): Faults => ({
  pods: new Map(),
  deny: [],
  notServed: new Set(),
  hangAll: false,
  hangUpgrades: false,
  answer: [],
});
