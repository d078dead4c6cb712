import type { PolicyObject } from '../policy/types.js';
import { SERVED } from './resources.js';
import type { Store } from './store.js';

/** The stored kinds Linkerd's policy controller and proxies read to decide egress. */
export const POLICY_KINDS = SERVED.filter((r) =>
  ['EgressNetwork', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'Service'].includes(r.kind),
);

/** Every policy object in the store right now, every version, as the policy engine takes them. */
export function policyObjects(store: Store): PolicyObject[] {
  return POLICY_KINDS.flatMap((r) => store.list(r));
}
