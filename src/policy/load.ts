import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { UsageError } from '../errors.js';
import { KINDS as REGISTRY } from '../kinds.js';
import type { PolicyObject } from './types.js';

/** The kinds the policy reads (kinds registry): others in the files are skipped. */
const KINDS = new Set(REGISTRY.filter((k) => k.policy).map((k) => k.kind));

/**
 * Parses manifests (YAML multi-document or JSON; `List` kinds flattened), keeping each object's source
 * as `file:line`. Kinds the policy does not read are skipped. Bad YAML is a UsageError with file:line.
 */
export function parseManifests(text: string, source: string): PolicyObject[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false });
  const out: PolicyObject[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) {
      const e = doc.errors[0];
      const pos = e?.linePos?.[0];
      throw new UsageError(
        `${source}${pos ? `:${pos.line}` : ''}: not valid YAML: ${e?.message.split('\n')[0] ?? ''}`,
      );
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    // The line of the object itself (after any `---` and comments).
    const line = lc.linePos(
      (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? doc.range[0],
    ).line;
    const push = (o: unknown, where: string) => {
      if (!o || typeof o !== 'object' || Array.isArray(o))
        throw new UsageError(`${where}: expected a Kubernetes object (a mapping with apiVersion and kind)`);
      const obj = o as PolicyObject;
      if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string')
        throw new UsageError(`${where}: an object without apiVersion or kind`);
      if (obj.kind === 'List' || obj.kind.endsWith('List')) {
        for (const item of (o as { items?: unknown[] }).items ?? []) push(item, where);
        return;
      }
      if (!KINDS.has(obj.kind)) return;
      if (!obj.metadata || typeof obj.metadata.name !== 'string')
        throw new UsageError(`${where}: ${obj.kind} without metadata.name`);
      out.push({ ...obj, source: where });
    };
    push(value, `${source}:${line}`);
  }
  return out;
}

/** What `-f` read: the objects, and how many files (standard input counts as one). */
export interface LoadedManifests {
  objects: PolicyObject[];
  files: number;
}

/**
 * Reads `-f` paths: files, or directories recursively (.yaml, .yml, .json); `-` is standard input, as
 * in kubectl, whose text the caller reads and passes as `stdin`.
 */
export function loadManifestFiles(paths: string[], cwd: string, stdin?: string): LoadedManifests {
  const files: string[] = [];
  const walk = (p: string, explicit: boolean) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new UsageError(`-f ${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e), false);
    } else if (explicit || /\.(ya?ml|json)$/i.test(p)) files.push(p);
  };
  if (paths.filter((p) => p === '-').length > 1)
    throw new UsageError('-f - (standard input) can be given only once');
  const objects: PolicyObject[] = [];
  let count = 0;
  for (const p of paths) {
    if (p === '-') {
      objects.push(...parseManifests(stdin ?? '', '<stdin>'));
      count++;
      continue;
    }
    files.length = 0;
    walk(path.resolve(cwd, p), true);
    count += files.length;
    for (const f of files)
      objects.push(...parseManifests(fs.readFileSync(f, 'utf8'), path.relative(cwd, f) || f));
  }
  return { objects, files: count };
}
