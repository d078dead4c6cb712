import { toJson, toYamlDocs } from '../manifests/serialize.js';

/** The fields of an object that name it. */
interface Named {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
}

/** kubectl's `-o name` reference: `httproute.gateway.networking.k8s.io/httpbin-get`. */
export function objectName(m: Named): string {
  return `${m.kind.toLowerCase()}.${m.apiVersion.split('/').slice(0, -1).join('/')}/${m.metadata.name}`;
}

/**
 * The objects a writing command built or applied, as `-o yaml|json|name` says (YAML documents by
 * default, as `--dry-run=client` prints them).
 */
export async function renderObjects(
  objects: Named[],
  output: 'yaml' | 'json' | 'name' | undefined,
): Promise<string> {
  if (output === 'name') return objects.map((m) => `${objectName(m)}\n`).join('');
  if (output === 'json') return toJson(objects);
  return toYamlDocs(objects);
}
