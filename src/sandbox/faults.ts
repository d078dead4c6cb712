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
   * Answer the next `remaining` requests (of `method` only, when set) with `code` (429 or 503) and
   * `Retry-After: retryAfter`, as an overloaded or restarting API server does (client retries). Counts
   * down; off at 0.
   */
  unavailable: { remaining: number; code: 429 | 503; retryAfter: number; method?: string };
  /** Drop the connection of the next `remaining` requests (of `method` only, when set) before answering. */
  resets: { remaining: number; method?: string };
}

/** Every switch off: a well-behaved cluster. */
export const noFaults = (): Faults => ({
  pods: new Map(),
  deny: [],
  notServed: new Set(),
  hangAll: false,
  hangUpgrades: false,
  unavailable: { remaining: 0, code: 503, retryAfter: 1 },
  resets: { remaining: 0 },
});
