/** The two non-apply patch formats the API server takes on every kind: RFC 7386 and RFC 6902. */

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);

/** JSON merge patch (RFC 7386): objects merge, `null` deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** JSON patch (RFC 6902) operations add, remove, replace and test. Throws on a bad path or failed test. */
export function jsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new Error('json patch must be a list of operations');
  let doc = structuredClone(target);
  for (const op of ops as { op?: string; path?: string; value?: Json }[]) {
    const tokens = String(op.path ?? '')
      .split('/')
      .slice(1)
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (tokens.length === 0) {
      if (op.op === 'test') {
        if (JSON.stringify(doc) !== JSON.stringify(op.value)) throw new Error('testing value failed');
        continue;
      }
      doc = op.op === 'remove' ? undefined : structuredClone(op.value);
      continue;
    }
    let parent: Json = doc;
    for (const t of tokens.slice(0, -1)) {
      parent = Array.isArray(parent) ? (parent[Number(t)] as Json) : isObject(parent) ? parent[t] : undefined;
      if (parent === undefined) throw new Error(`doc is missing path: "${op.path}"`);
    }
    const last = tokens[tokens.length - 1] as string;
    const current: Json = Array.isArray(parent)
      ? (parent[Number(last)] as Json)
      : isObject(parent)
        ? parent[last]
        : undefined;
    switch (op.op) {
      case 'test':
        if (JSON.stringify(current) !== JSON.stringify(op.value))
          throw new Error(`testing value ${op.path} failed`);
        break;
      case 'remove':
      case 'replace':
        if (current === undefined)
          throw new Error(`${op.op} operation does not apply: doc is missing path: "${op.path}"`);
        if (Array.isArray(parent)) {
          if (op.op === 'remove') parent.splice(Number(last), 1);
          else parent[Number(last)] = structuredClone(op.value);
        } else if (isObject(parent)) {
          if (op.op === 'remove') delete parent[last];
          else parent[last] = structuredClone(op.value);
        }
        break;
      case 'add':
        if (Array.isArray(parent))
          parent.splice(last === '-' ? parent.length : Number(last), 0, structuredClone(op.value));
        else if (isObject(parent)) parent[last] = structuredClone(op.value);
        else throw new Error(`add operation does not apply: doc is missing path: "${op.path}"`);
        break;
      default:
        throw new Error(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}
