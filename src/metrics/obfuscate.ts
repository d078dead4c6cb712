import crypto from 'node:crypto';
import { newLabels, unescapeLabel, type Exposition } from './parse.js';

/**
 * Labels whose values identify workloads, hosts or policy objects. Linkerd's `--obfuscate` hides the
 * first six only, so it leaks external hostnames, IPs and route names; egressctl hides all of these.
 */
export const OBFUSCATED_LABELS: ReadonlySet<string> = new Set([
  'authority',
  'client_id',
  'server_id',
  'target_addr',
  'dst_service',
  'dst_namespace',
  'hostname',
  'target_ip',
  'parent_name',
  'parent_namespace',
  'route_name',
  'route_namespace',
  'backend_name',
  'backend_namespace',
]);

/**
 * The first 8 hex characters of sha256(value), as linkerd does; stable across runs, so two dumps can
 * still be compared. Empty values stay empty: they identify nothing, and `hostname=""` tells that
 * hostname labels are off.
 */
export function obfuscateValue(value: string): string {
  if (value === '') return '';
  return crypto.createHash('sha256').update(value).digest('hex').slice(0, 8);
}

/** Obfuscates parsed families. */
export function obfuscateFamilies(e: Exposition): Exposition {
  return {
    ...e,
    families: e.families.map((f) => ({
      ...f,
      samples: f.samples.map((s) => {
        const labels = newLabels();
        for (const [k, v] of Object.entries(s.labels))
          labels[k] = OBFUSCATED_LABELS.has(k) ? obfuscateValue(v) : v;
        return { ...s, labels };
      }),
    })),
  };
}

// The value as an unrolled loop (runs of plain characters, then one escape): no alternation inside a
// star, whose backtracking stack overflowed on a value of millions of characters.
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*(?:\\.[^"\\]*)*)"/g;

/**
 * Obfuscates a raw body line by line, changing nothing but the listed label values (comments and HELP
 * lines are left as they are), so the output is the same dump with identities hashed.
 */
export function obfuscateText(body: string): string {
  return body
    .split('\n')
    .map((line) =>
      line.startsWith('#') || !line.includes('{')
        ? line
        : line.replace(LABEL, (all, k: string, v: string) =>
            OBFUSCATED_LABELS.has(k) ? `${k}="${obfuscateValue(unescapeLabel(v))}"` : all,
          ),
    )
    .join('\n');
}
