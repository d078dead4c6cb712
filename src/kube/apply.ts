import type { Deps } from '../deps.js';
import { ClusterError, ExitCode } from '../errors.js';
import { renderDeleteResults } from '../render/apply.js';
import { ApiError, type KubeClient } from './rest.js';
import {
  apiVersionOf,
  isNotServed,
  notServedError,
  objectRef,
  resourceByName,
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

/** Thrown when other field managers own fields we would set: nothing was applied. */
export class ApplyConflictError extends ClusterError {}

/**
 * Server-side applies `objs` in order, as field manager `o.fieldManager`. Before writing anything it
 * checks that every kind is served, then server-side dry-runs every object: the server decides
 * conflicts, admission and validation, so one refusal leaves nothing applied. Conflicts with other
 * field managers are refused unless `o.force` (kubectl's `--force-conflicts`), all of them in one
 * message. A failure in the real pass (the cluster changed in between) throws a PartialApplyError that
 * names what was already applied.
 */
export async function applyObjects(
  client: KubeClient,
  objs: KubeObject[],
  o: ApplyOptions,
): Promise<ApplyResult[]> {
  const live: (KubeObject | undefined)[] = [];
  for (const obj of objs) live.push(await fetchLive(client, obj));
  const conflicts: string[] = [];
  const checked: ApplyResult[] = [];
  for (const [i, obj] of objs.entries()) {
    try {
      checked.push(await applyOne(client, obj, live[i], { ...o, dryRun: 'server' }));
    } catch (e) {
      const found = e instanceof ApiError ? conflictsOf(e) : undefined;
      if (found) {
        conflicts.push(`${objectRef(obj)}: ${found}`);
        continue;
      }
      throw new PartialApplyError(
        failureMessage(e, objectRef(obj), o, [], objs.slice(i + 1).map(objectRef)),
        [],
        e,
      );
    }
  }
  if (conflicts.length)
    throw new ApplyConflictError(
      `refusing to apply: other field managers own fields egressctl would set (${conflicts.join('; ')}). Nothing was applied: re-run with --force-conflicts to take the fields over, and stop the other manager (a GitOps controller?) or it will take them back`,
    );
  if (o.dryRun === 'server') return checked;
  const results: ApplyResult[] = [];
  for (const [i, obj] of objs.entries()) {
    try {
      results.push(await applyOne(client, obj, live[i], o));
    } catch (e) {
      throw new PartialApplyError(
        failureMessage(e, objectRef(obj), o, results, objs.slice(i + 1).map(objectRef)),
        results,
        e,
      );
    }
  }
  return results;
}

async function applyOne(
  client: KubeClient,
  obj: KubeObject,
  before: KubeObject | undefined,
  o: ApplyOptions,
): Promise<ApplyResult> {
  const { path } = pathOf(obj);
  const ref = objectRef(obj);
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
  const action =
    res.statusCode === 201 || !before
      ? 'created'
      : sameVersion(before, res.body)
        ? 'unchanged'
        : 'configured';
  return { ref, action, object: stripManagedFields(res.body) };
}

/**
 * The other managers and their fields from a 409 apply conflict, as kubectl prints them:
 * `conflict with "argocd-controller": .spec.trafficPolicy`. Read from the Status causes
 * (reason FieldManagerConflict, k8s.io/apimachinery/pkg/util/managedfields/internal/conflict.go), else
 * from the message; undefined when the 409 is not a field-manager conflict.
 */
export function conflictsOf(e: ApiError): string | undefined {
  if (e.code !== 409 || e.reason !== 'Conflict') return undefined;
  const causes = (e.status?.details?.causes ?? []).filter((c) => c.reason === 'FieldManagerConflict');
  const lines = causes.length
    ? causes.map((c) => `${c.message ?? 'conflict'}${c.field ? `: ${c.field}` : ''}`)
    : [...(e.status?.message ?? e.message).matchAll(/conflict with "[^"]+"[^:\n]*: \S+/g)].map((m) => m[0]);
  return lines.length ? lines.join(', ') : undefined;
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
  const conflict = e instanceof ApiError ? conflictsOf(e) : undefined;
  if (conflict) {
    // Only when the cluster changed between the dry run and the apply.
    why = `${conflict} (another field manager owns these fields: re-run with --force-conflicts to take them over)`;
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

/**
 * What a route names that the cluster lacks, as one line each: a parent EgressNetwork (Linkerd's
 * policy controller marks the route `Accepted=False`, `NoMatchingParent`, so it has no effect) or a
 * backend Service (`ResolvedRefs=False`, `BackendNotFound`: matching requests get HTTP 500 "Service
 * not found"; linkerd2 policy-controller/k8s/status/src/index.rs). Objects in `objs` count as present.
 */
export async function findDanglingRefs(client: KubeClient, objs: KubeObject[]): Promise<string[]> {
  const { egressParents, rules } = await import('../policy/types.js');
  const { isRouteObject } = await import('../kinds.js');
  const ref = (kind: string, namespace: string, name: string): KubeObject => {
    const r = resourceByName(kind.toLowerCase());
    if (!r) throw new ClusterError(`egressctl cannot read ${kind}`);
    return { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { name, namespace } };
  };
  const inBatch = (o: KubeObject) =>
    objs.some(
      (x) =>
        x.kind === o.kind &&
        x.metadata.name === o.metadata.name &&
        x.metadata.namespace === o.metadata.namespace,
    );
  const seen = new Map<string, boolean>();
  const exists = async (o: KubeObject): Promise<boolean> => {
    const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (!seen.has(key)) seen.set(key, inBatch(o) || (await fetchLive(client, o)) !== undefined);
    return seen.get(key) === true;
  };
  const out: string[] = [];
  for (const route of objs.filter(isRouteObject)) {
    const p = route as unknown as Parameters<typeof egressParents>[0];
    const ns = route.metadata.namespace ?? '';
    const what = `${route.kind} ${ns}/${route.metadata.name}`;
    for (const parent of egressParents(p)) {
      if (!(await exists(ref('EgressNetwork', parent.namespace, parent.name))))
        out.push(
          `${what}: parent EgressNetwork ${parent.namespace}/${parent.name} does not exist, so Linkerd will mark the route Accepted=False (NoMatchingParent) and it has no effect until the network is created (egressctl egress allow|deny ${parent.name} -n ${parent.namespace})`,
        );
    }
    for (const rule of rules(p)) {
      for (const b of (rule.backendRefs as
        { kind?: string; group?: string; name: string; namespace?: string }[] | undefined) ?? []) {
        if ((b.kind ?? 'Service') !== 'Service' || (b.group ?? '') !== '') continue;
        const bns = b.namespace ?? ns;
        if (!(await exists(ref('Service', bns, b.name))))
          out.push(
            `${what}: backend Service ${bns}/${b.name} does not exist, so Linkerd will mark the route ResolvedRefs=False (BackendNotFound) and matching requests get HTTP 500 "Service not found"`,
          );
      }
    }
  }
  return out;
}
