import { LINKERD_WEBHOOK, linkerdAdmission } from './admission.js';
import type { ServedResource } from './resources.js';
import { applyDefaults, crdSchemas, validateSchema, type FieldCause } from './schema.js';
import { StoreError, type StoredObject } from './store.js';

/**
 * What every write goes through before the store keeps it, in kube-apiserver's order: the CRD
 * schema's defaults, its validation (422 Invalid with causes), then Linkerd's validating webhook.
 * Built-in kinds are not validated. Assign to `Store.admit`.
 */
export function admitWrite(r: ServedResource, obj: StoredObject): void {
  if (!r.crd) return;
  const schema = crdSchemas().get(`${r.group}/${r.version}/${r.kind}`);
  if (schema) {
    applyDefaults(schema, obj);
    const causes = validateSchema(schema, obj);
    if (causes.length) throw invalid(r, obj.metadata.name, causes);
  }
  const denied = linkerdAdmission(r.group, r.kind, obj);
  if (denied)
    throw new StoreError(400, '', `admission webhook "${LINKERD_WEBHOOK}" denied the request: ${denied}`);
}

/** `Kind.group "name" is invalid: cause` or `…: [cause, cause]`, with causes, as a 422 Invalid. */
function invalid(r: ServedResource, name: string, causes: FieldCause[]): StoreError {
  const lines = causes.map((c) => `${c.field}: ${c.message}`);
  return new StoreError(
    422,
    'Invalid',
    `${r.kind}${r.group ? `.${r.group}` : ''} "${name}" is invalid: ${lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`}`,
    { name, group: r.group, kind: r.kind, causes },
  );
}
