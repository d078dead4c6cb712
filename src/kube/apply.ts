import type { Deps } from '../deps.js';
import { ClusterError, ExitCode } from '../errors.js';
import { renderDeleteResults } from '../render/apply.js';
import { ApiError, type KubeClient } from './rest.js';
import {
  isNotServed,
  notServedError,
  objectRef,
  resourceFor,
  resourcePath,
  type KubeObject,
} from './resources.js';

export interface ApplyOptions {
  dryRun: 'none' | 'server';
  fieldManager: string;
  force: boolean;
}

/** What happened to one object. */
export interface ApplyResult {
  ref: string;
  action: 'created' | 'configured' | 'unchanged';
  /** The object as the server returned it (managedFields removed). */
  object: KubeObject;
}

/** Thrown when an apply stops part-way: says what was applied before the failure. */
export class PartialApplyError extends ClusterError {
  readonly applied: ApplyResult[];
  constructor(message: string, applied: ApplyResult[], cause: unknown) {
    super(message, { cause });
    this.applied = applied;
  }
}

function pathOf(o: KubeObject): { path: string; r: NonNullable<ReturnType<typeof resourceFor>> } {
  const r = resourceFor(o.apiVersion, o.kind);
  if (!r) throw new ClusterError(`egressctl cannot apply ${o.kind} (${o.apiVersion})`);
  return { r, path: resourcePath(r, o.metadata.namespace, o.metadata.name) };
}

/** GETs an object; undefined when it does not exist. Throws what to install when its kind is not served. */
export async function fetchLive(client: KubeClient, o: KubeObject): Promise<KubeObject | undefined> {
  const { r, path } = pathOf(o);
  try {
    return await client.get<KubeObject>(path, { what: `get ${objectRef(o)}` });
  } catch (e) {
    if (isNotServed(e)) throw notServedError(r, e);
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
}

/**
 * Server-side applies `objs` in order, as field manager `o.fieldManager`. Before writing anything it
 * checks that every kind is served, so a missing CRD never leaves a half-applied set. It stops at the
 * first failure and throws a PartialApplyError that names what was already applied.
 */
export async function applyObjects(
  client: KubeClient,
  objs: KubeObject[],
  o: ApplyOptions,
): Promise<ApplyResult[]> {
  const live: (KubeObject | undefined)[] = [];
  for (const obj of objs) live.push(await fetchLive(client, obj));
  const results: ApplyResult[] = [];
  for (const [i, obj] of objs.entries()) {
    const { path } = pathOf(obj);
    const ref = objectRef(obj);
    try {
      const res = await client.request<KubeObject>('PATCH', path, {
        query: {
          fieldManager: o.fieldManager,
          force: o.force,
          dryRun: o.dryRun === 'server' ? 'All' : undefined,
        },
        body: obj,
        contentType: 'application/apply-patch+yaml',
        what: `apply ${ref}`,
      });
      const before = live[i];
      const action =
        res.statusCode === 201 || !before
          ? 'created'
          : sameVersion(before, res.body)
            ? 'unchanged'
            : 'configured';
      results.push({ ref, action, object: stripManagedFields(res.body) });
    } catch (e) {
      throw new PartialApplyError(
        failureMessage(e, ref, o, results, objs.slice(i + 1).map(objectRef)),
        results,
        e,
      );
    }
  }
  return results;
}

function sameVersion(a: KubeObject, b: KubeObject): boolean {
  const rv = (o: KubeObject) => (o.metadata as { resourceVersion?: string }).resourceVersion;
  return rv(a) !== undefined && rv(a) === rv(b);
}

/** managedFields are noise in printed objects (kubectl hides them too). */
export function stripManagedFields(o: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = o.metadata;
  return { ...o, metadata };
}

function failureMessage(
  e: unknown,
  ref: string,
  o: ApplyOptions,
  done: ApplyResult[],
  rest: string[],
): string {
  let why = e instanceof Error ? e.message : String(e);
  if (e instanceof ApiError && e.code === 409 && e.reason === 'Conflict') {
    const managers = [...why.matchAll(/conflict with "([^"]+)"/g)].map((m) => m[1]);
    why = `${why} (another field manager, ${[...new Set(managers)].join(', ') || 'unknown'}, owns these fields: re-run without --no-force-conflicts to take them over)`;
  } else if (e instanceof ApiError && e.code === 404 && /namespaces? "([^"]+)" not found/.test(why)) {
    const ns = /namespaces? "([^"]+)" not found/.exec(why)?.[1] ?? '';
    why = `namespace ${ns} does not exist: create it first (kubectl create namespace ${ns})`;
  }
  const applied = done.length
    ? ` Already applied${o.dryRun === 'server' ? ' (server dry run)' : ''}: ${done.map((d) => d.ref).join(', ')}.`
    : ' Nothing was applied.';
  const skipped = rest.length ? ` Not attempted: ${rest.join(', ')}.` : '';
  return `apply ${ref} failed: ${why}.${applied}${skipped}`;
}

export interface DeleteOptions {
  dryRun: 'none' | 'server';
  ignoreNotFound: boolean;
}

/** Deletes objects one by one; stops at the first failure saying what was already deleted. */
export async function deleteObjects(
  client: KubeClient,
  objs: KubeObject[],
  o: DeleteOptions,
  deps: Deps,
): Promise<number> {
  const done: string[] = [];
  for (const [i, obj] of objs.entries()) {
    const { r, path } = pathOf(obj);
    const ref = objectRef(obj);
    try {
      await client.request('DELETE', path, {
        query: { dryRun: o.dryRun === 'server' ? 'All' : undefined },
        what: `delete ${ref}`,
      });
      deps.out.write(renderDeleteResults([ref], o.dryRun));
      done.push(ref);
    } catch (e) {
      if (isNotServed(e)) throw notServedError(r, e);
      if (e instanceof ApiError && e.code === 404 && o.ignoreNotFound) continue;
      const rest = objs.slice(i + 1).map(objectRef);
      const why =
        e instanceof ApiError && e.code === 404
          ? `${ref} not found in namespace ${obj.metadata.namespace ?? ''} (use --ignore-not-found to skip it)`
          : (e as Error).message;
      throw new ClusterError(
        `delete ${ref} failed: ${why}.${done.length ? ` Already deleted: ${done.join(', ')}.` : ' Nothing was deleted.'}${rest.length ? ` Not attempted: ${rest.join(', ')}.` : ''}`,
        { cause: e },
      );
    }
  }
  return ExitCode.Ok;
}
