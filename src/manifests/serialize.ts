/**
 * Objects as kubectl prints them: YAML documents separated by `---` (straight into `kubectl apply -f -`),
 * or JSON (one object, or a `v1 List` for several). Built with the yaml library, never templates.
 */
export async function toYamlDocs(objects: unknown[]): Promise<string> {
  // Loaded only for YAML output: it is the largest module on this path.
  const mod = await import('yaml');
  // Bundled, the CommonJS build of yaml arrives as a default export.
  const { stringify } = (mod.default as typeof mod | undefined) ?? mod;
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

export function toJson(objects: unknown[]): string {
  const doc =
    objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', metadata: {}, items: objects };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
