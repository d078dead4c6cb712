/**
 * Objects as kubectl prints them: YAML documents separated by `---` (straight into `kubectl apply -f -`),
 * or JSON (one object, or a `v1 List` for several). Built with the yaml library, never templates.
 * Top-level keys always come as apiVersion, kind, metadata, spec, then the rest (status, …), whatever
 * order the object was built or received in, so output is stable and reads like kubectl's.
 */

const FIRST = ['apiVersion', 'kind', 'metadata', 'spec'];

/** The same object with its top-level keys in kubectl's order (nested keys keep their order). */
export function orderKeys(o: unknown): unknown {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return o;
  const rec = o as Record<string, unknown>;
  const keys = [...FIRST.filter((k) => k in rec), ...Object.keys(rec).filter((k) => !FIRST.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, rec[k]]));
}

export async function toYamlDocs(objects: unknown[]): Promise<string> {
  // Loaded only for YAML output: it is the largest module on this path.
  const mod = await import('yaml');
  // Bundled, the CommonJS build of yaml arrives as a default export.
  const { stringify } = (mod.default as typeof mod | undefined) ?? mod;
  return objects.map((o) => stringify(orderKeys(o), { lineWidth: 0 })).join('---\n');
}

export function toJson(objects: unknown[]): string {
  const items = objects.map(orderKeys);
  const doc = items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', metadata: {}, items };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
