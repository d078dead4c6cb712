import { KINDS, singleRuleDenial } from '../kinds.js';
import { cidrCovers, parseCidr, type Cidr } from '../net/cidr.js';

/**
 * Linkerd's validating webhook (policy controller `runtime/src/admission.rs`) for the kinds egressctl
 * writes. It runs after schema defaulting, and the API server reports a denial as
 * `admission webhook "linkerd-policy-validator.linkerd.io" denied the request: <message>`.
 * Only the first failure is reported, as the webhook bails on the first error.
 */
export const LINKERD_WEBHOOK = 'linkerd-policy-validator.linkerd.io';

type Json = Record<string, unknown>;

/** The webhook's denial message for `obj` of `kind` (group-qualified), or undefined when it admits. */
export function linkerdAdmission(group: string, kind: string, obj: Json): string | undefined {
  const spec = (obj.spec ?? {}) as Json;
  if (group === 'policy.linkerd.io' && kind === 'EgressNetwork') return egressNetwork(spec);
  const route = KINDS.find((k) => k.group === group && k.kind === kind)?.route;
  if (!route) return undefined;
  for (const p of (spec.parentRefs ?? []) as { kind?: string; group?: string; port?: number }[]) {
    const egress =
      (p.kind ?? '').toLowerCase() === 'egressnetwork' &&
      (p.group ?? '').toLowerCase() === 'policy.linkerd.io';
    if (egress && p.port === undefined) return 'cannot target an EgressNetwork without specifying a port';
  }
  if (route.singleRule) {
    const rules = (spec.rules ?? []) as unknown[];
    if (rules.length !== 1) return singleRuleDenial(kind);
  }
  if (route.protocol === 'http' || route.protocol === 'grpc') {
    for (const rule of (spec.rules ?? []) as Json[]) {
      for (const b of (rule.backendRefs ?? []) as Json[]) {
        const service = (b.group ?? '') === '' && (b.kind ?? 'Service') === 'Service';
        // anyhow's context hides the cause: the webhook says only this.
        if (service && (b.port === undefined || b.port === 0)) return 'invalid backendRef';
      }
    }
  }
  return undefined;
}

/** ipnet accepts host bits (`10.0.0.1/8`); so does the webhook. */
function lenientCidr(text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (e) {
    const fixed = /did you mean (\S+)\?/.exec((e as Error).message)?.[1];
    if (fixed) return parseCidr(fixed);
    throw e;
  }
}

function egressNetwork(spec: Json): string | undefined {
  const networks = spec.networks as { cidr?: string; except?: string[] }[] | undefined;
  if (networks === undefined) return undefined;
  if (networks.length === 0) return 'at least one network must be specified';
  for (const n of networks) {
    let cidr: Cidr;
    try {
      cidr = lenientCidr(String(n.cidr));
    } catch {
      return `invalid IP address syntax: ${String(n.cidr)}`;
    }
    for (const text of n.except ?? []) {
      let except: Cidr;
      try {
        except = lenientCidr(text);
      } catch {
        return `invalid IP address syntax: ${text}`;
      }
      if (cidrCovers(except, cidr))
        return `cidr '${cidr.text}' is completely negated by exception '${except.text}'`;
      if (!cidrCovers(cidr, except)) return `cidr '${cidr.text}' does not include exception '${except.text}'`;
    }
  }
  return undefined;
}
