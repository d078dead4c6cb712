import type { Exposition } from './parse.js';

/**
 * Keeps only samples with `parent_kind="EgressNetwork"`, with their families' HELP/TYPE/UNIT lines;
 * families left without samples are dropped. The result serializes in the format it came in.
 */
export function egressOnly(e: Exposition): Exposition {
  const families = e.families
    .map((f) => ({ ...f, samples: f.samples.filter((s) => s.labels.parent_kind === 'EgressNetwork') }))
    .filter((f) => f.samples.length > 0);
  return { families, eof: e.eof };
}

/** Only families that can hold egress series (`outbound_*`): lets the parser skip everything else. */
export const mayHoldEgress = (family: string): boolean => family.startsWith('outbound_');
