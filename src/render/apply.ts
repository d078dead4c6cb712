import type { ApplyResult } from '../kube/apply.js';
import { toJson, toYamlDocs } from '../manifests/serialize.js';

/** How a write was made: for real, as a server-side dry run, or only printed (client). */
export type DryRun = 'none' | 'client' | 'server';

/** The `-o` of the writing commands (`allow`, `deny`, `route`); `text` is kubectl's default result line. */
export type ApplyOutput = 'text' | 'name' | 'json' | 'yaml';

/** kubectl's suffix for a result line. */
const dryRunSuffix = (d: DryRun): string =>
  d === 'server' ? ' (server dry run)' : d === 'client' ? ' (dry run)' : '';

/** kubectl-style result lines: `egressnetwork.policy.linkerd.io/all-egress-traffic configured (server dry run)`. */
export function renderApplyResults(results: ApplyResult[], dryRun: DryRun): string {
  return results.map((r) => `${r.ref} ${r.action}${dryRunSuffix(dryRun)}\n`).join('');
}

/**
 * kubectl-style delete lines: `httproute.gateway.networking.k8s.io/httpbin-get deleted (server dry run)`.
 * A client dry run contacts nothing, so it cannot know the object exists: unlike kubectl's
 * `deleted (dry run)`, it says only what would be asked for.
 */
export function renderDeleteResults(refs: string[], dryRun: DryRun): string {
  if (dryRun === 'client')
    return refs
      .map((ref) => `${ref} would be deleted (client dry run: not checked against the cluster)\n`)
      .join('');
  return refs.map((ref) => `${ref} deleted${dryRunSuffix(dryRun)}\n`).join('');
}

/**
 * After an apply, `applyFormats[o.output](results, { dryRun })`: result lines, names, or the objects as
 * the server returned them. Async because YAML loads its library lazily (see manifests/serialize.ts).
 */
export const applyFormats: Record<
  ApplyOutput,
  (results: ApplyResult[], o: { dryRun: DryRun }) => Promise<string>
> = {
  text: (r, o) => Promise.resolve(renderApplyResults(r, o.dryRun)),
  // kubectl's `-o name`: the object references only.
  name: (r) => Promise.resolve(r.map((x) => `${x.ref}\n`).join('')),
  json: (r) => Promise.resolve(toJson(r.map((x) => x.object))),
  yaml: (r) => toYamlDocs(r.map((x) => x.object)),
};

/**
 * kubectl's `kind.group/name` of an object not yet sent, from its apiVersion (kube/resources.ts's
 * objectRef says the same for served kinds, but it sits with the REST client, which render/ must not load).
 */
export const objectName = (m: { kind: string; apiVersion: string; metadata: { name: string } }): string => {
  const group = m.apiVersion.split('/').slice(0, -1).join('/');
  return `${m.kind.toLowerCase()}${group ? `.${group}` : ''}/${m.metadata.name}`;
};

/** The `-o` of `--dry-run=client`, where nothing reaches the server; YAML unless told otherwise. */
export type PrintOutput = 'name' | 'json' | 'yaml';

/** With `--dry-run=client`, `printFormats[o.output ?? 'yaml'](objects)`: the objects as they would be applied. */
export const printFormats: Record<
  PrintOutput,
  (objects: { kind: string; apiVersion: string; metadata: { name: string } }[]) => Promise<string>
> = {
  name: (objs) => Promise.resolve(objs.map((m) => `${objectName(m)}\n`).join('')),
  json: (objs) => Promise.resolve(toJson(objs)),
  yaml: (objs) => toYamlDocs(objs),
};
