import type { PolicyObject } from '../policy/types.js';
import { POLICY_SERVED } from './resources.js';
import type { Store } from './store.js';

/** The stored kinds Linkerd's policy controller and proxies read to decide egress (the kinds registry's). */
export const POLICY_KINDS = POLICY_SERVED;

/** Every policy object in the store right now, every version, as the policy engine takes them. */
export function policyObjects(store: Store): PolicyObject[] {
  return POLICY_KINDS.flatMap((r) => store.list(r));
}
