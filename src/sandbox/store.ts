import { EventEmitter } from 'node:events';
import crypto from 'node:crypto';
import type { ServedResource } from './resources.js';

/** A stored object: plain JSON as the API server returns it. */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: unknown[];
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

/** A Kubernetes-shaped failure: the server turns it into a Status body. */
export class StoreError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The server's timestamp format: seconds precision, `Z`. */
export const serverTime = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

type Path = string[];
type Json = unknown;

/** Leaf paths of an object: maps recurse, lists and scalars are leaves (atomic, as Gateway API lists). */
function leafPaths(o: Json, prefix: Path = []): Path[] {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    const out: Path[] = [];
    for (const [k, v] of Object.entries(o as Record<string, Json>)) out.push(...leafPaths(v, [...prefix, k]));
    return out.length ? out : [prefix];
  }
  return [prefix];
}

const getPath = (o: Json, p: Path): Json =>
  p.reduce<Json>((x, k) => (x && typeof x === 'object' ? (x as Record<string, Json>)[k] : undefined), o);

function setPath(o: Record<string, Json>, p: Path, v: Json): void {
  let cur = o;
  for (const k of p.slice(0, -1)) {
    if (!cur[k] || typeof cur[k] !== 'object' || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, Json>;
  }
  const last = p[p.length - 1];
  if (last !== undefined) cur[last] = structuredClone(v);
}

function deletePath(o: Record<string, Json>, p: Path): void {
  const parents: Record<string, Json>[] = [o];
  let cur: Json = o;
  for (const k of p.slice(0, -1)) {
    cur = (cur as Record<string, Json>)?.[k];
    if (!cur || typeof cur !== 'object') return;
    parents.push(cur as Record<string, Json>);
  }
  delete (cur as Record<string, Json>)[p[p.length - 1] as string];
  // Drop maps left empty, as a merge would.
  for (let i = parents.length - 1; i > 0; i--) {
    const parent = parents[i - 1] as Record<string, Json>;
    const key = p[i - 1] as string;
    if (Object.keys(parents[i] as object).length === 0) delete parent[key];
  }
}

const equal = (a: Json, b: Json): boolean => JSON.stringify(a) === JSON.stringify(b);
const pathKey = (p: Path) => p.join('\u0000');

/** Fields we never track ownership of. */
const IDENTITY = new Set(['apiVersion', 'kind', 'metadata\u0000name', 'metadata\u0000namespace']);

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  paths: Set<string>;
}

/** Change events, for the sandbox's policy controller and traffic simulator. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: ServedResource;
  object: StoredObject;
}

/**
 * An in-memory object store with the API server semantics egressctl relies on: uid, resourceVersion
 * (unchanged by a no-op write), generation (bumped by spec changes), server-side apply with per-field
 * ownership, conflicts and force, status kept apart from the main resource.
 */
export class Store extends EventEmitter {
  private readonly objects = new Map<string, StoredObject>();
  private readonly managers = new Map<string, Manager[]>();
  private rv = 1000;
  now: () => number = () => Date.now();
  /**
   * Admission for every write, on the object as it would be stored (after merging): may default fields
   * in place, and throws a StoreError to refuse. The API server sets it (schema + Linkerd's webhook).
   */
  admit: ((r: ServedResource, obj: StoredObject) => void) | undefined;

  /** The latest resourceVersion handed out (a list's `metadata.resourceVersion`). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  private key(r: ServedResource, ns: string | undefined, name: string): string {
    return `${r.group}/${r.plural}/${r.namespaced ? (ns ?? '') : ''}/${name}`;
  }

  get(r: ServedResource, ns: string | undefined, name: string): StoredObject | undefined {
    return this.objects.get(this.key(r, ns, name));
  }

  /** Objects of a type (in a namespace, or all), sorted by namespace and name. */
  list(r: ServedResource, ns?: string): StoredObject[] {
    const prefix = `${r.group}/${r.plural}/`;
    const out: StoredObject[] = [];
    for (const [k, o] of this.objects) {
      if (!k.startsWith(prefix)) continue;
      if (!o.apiVersion.endsWith(`/${r.version}`) && o.apiVersion !== r.version) continue;
      if (ns !== undefined && r.namespaced && o.metadata.namespace !== ns) continue;
      out.push(o);
    }
    return out.sort(
      (a, b) =>
        (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
  }

  /** Every stored object (for --state). */
  all(): StoredObject[] {
    return [...this.objects.values()];
  }

  private apiVersion(r: ServedResource): string {
    return r.group ? `${r.group}/${r.version}` : r.version;
  }

  private render(o: StoredObject, key: string): StoredObject {
    const ms = this.managers.get(key) ?? [];
    const managedFields = ms.map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: 'FieldsV1',
      fieldsV1: fieldsV1([...m.paths].map((p) => p.split('\u0000'))),
    }));
    return { ...o, metadata: { ...o.metadata, ...(managedFields.length ? { managedFields } : {}) } };
  }

  private nextVersion(): string {
    return String(++this.rv);
  }

  /** POST: creates, or 409 AlreadyExists. `dryRun` persists nothing. */
  create(
    r: ServedResource,
    ns: string | undefined,
    body: Record<string, unknown>,
    o: { fieldManager?: string; dryRun?: boolean } = {},
  ): StoredObject {
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    const name = meta.name;
    if (typeof name !== 'string' || !name) {
      throw new StoreError(
        422,
        'Invalid',
        `${r.kind} "" is invalid: metadata.name: Required value: name is required`,
      );
    }
    const key = this.key(r, ns, name);
    if (this.objects.has(key)) {
      throw new StoreError(
        409,
        'AlreadyExists',
        `${r.plural}${r.group ? `.${r.group}` : ''} "${name}" already exists`,
        { name, group: r.group, kind: r.plural },
      );
    }
    const obj = this.fresh(r, ns, name, body);
    this.admit?.(r, obj);
    if (!o.dryRun) {
      this.objects.set(key, obj);
      const paths = new Set(
        leafPaths(strip(body))
          .map(pathKey)
          .filter((p) => !IDENTITY.has(p)),
      );
      this.managers.set(key, [
        {
          manager: o.fieldManager ?? 'unknown',
          operation: 'Update',
          apiVersion: this.apiVersion(r),
          time: serverTime(this.now()),
          paths,
        },
      ]);
      this.emit('change', { type: 'ADDED', resource: r, object: obj } satisfies StoreEvent);
    }
    return this.render(obj, key);
  }

  private fresh(
    r: ServedResource,
    ns: string | undefined,
    name: string,
    body: Record<string, unknown>,
  ): StoredObject {
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    const { status: _status, ...rest } = structuredClone(body);
    return {
      ...rest,
      apiVersion: this.apiVersion(r),
      kind: r.kind,
      metadata: {
        ...(meta as object),
        name,
        ...(r.namespaced ? { namespace: ns } : {}),
        uid: (meta.uid as string | undefined) ?? crypto.randomUUID(),
        resourceVersion: this.nextVersion(),
        generation: 1,
        creationTimestamp: (meta.creationTimestamp as string | undefined) ?? serverTime(this.now()),
      },
      // Pods and workloads carry their status in; CRDs get theirs from controllers.
      ...(body.status && !r.crd ? { status: structuredClone(body.status as Record<string, unknown>) } : {}),
    };
  }

  /**
   * Server-side apply. 201-vs-200 is the caller's (`created`); conflicts with other managers' fields
   * throw 409 unless `force`; fields this manager applied before and no longer applies are removed.
   */
  apply(
    r: ServedResource,
    ns: string | undefined,
    name: string,
    body: Record<string, unknown>,
    o: { fieldManager: string; force: boolean; dryRun: boolean },
  ): { object: StoredObject; created: boolean } {
    const key = this.key(r, ns, name);
    const live = this.objects.get(key);
    const applied = strip(body);
    const newPaths = leafPaths(applied).filter((p) => !IDENTITY.has(pathKey(p)));
    const time = serverTime(this.now());
    if (!live) {
      const obj = this.fresh(r, ns, name, body);
      this.admit?.(r, obj);
      if (!o.dryRun) {
        this.objects.set(key, obj);
        this.managers.set(key, [
          {
            manager: o.fieldManager,
            operation: 'Apply',
            apiVersion: this.apiVersion(r),
            time,
            paths: new Set(newPaths.map(pathKey)),
          },
        ]);
        this.emit('change', { type: 'ADDED', resource: r, object: obj } satisfies StoreEvent);
      }
      return { object: this.render(obj, key), created: true };
    }
    const managers = (this.managers.get(key) ?? []).map((m) => ({ ...m, paths: new Set(m.paths) }));
    const others = managers.filter((m) => !(m.manager === o.fieldManager && m.operation === 'Apply'));
    const conflicts: { manager: Manager; path: Path }[] = [];
    for (const p of newPaths) {
      for (const m of others) {
        if (m.paths.has(pathKey(p)) && !equal(getPath(live, p), getPath(applied, p)))
          conflicts.push({ manager: m, path: p });
      }
    }
    if (conflicts.length && !o.force) {
      const describe = (m: Manager) =>
        `"${m.manager}"${m.operation === 'Update' ? ` using ${m.apiVersion}` : ''}`;
      const lines = conflicts.map((c) => `conflict with ${describe(c.manager)}: .${c.path.join('.')}`);
      const message =
        conflicts.length === 1
          ? `Apply failed with 1 conflict: ${lines[0]}`
          : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
      throw new StoreError(409, 'Conflict', message, {
        causes: conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with ${describe(c.manager)}`,
          field: `.${c.path.join('.')}`,
        })),
      });
    }
    const next = structuredClone(live) as Record<string, Json>;
    const mine = managers.find((m) => m.manager === o.fieldManager && m.operation === 'Apply');
    const newSet = new Set(newPaths.map(pathKey));
    // Fields only this manager owned, and no longer applies, are removed.
    for (const p of mine?.paths ?? []) {
      if (!newSet.has(p) && !others.some((m) => m.paths.has(p))) deletePath(next, p.split('\u0000'));
    }
    for (const p of newPaths) setPath(next, p, getPath(applied, p));
    if (o.force) for (const c of conflicts) c.manager.paths.delete(pathKey(c.path));
    const nextManagers = [
      ...others.filter((m) => m.paths.size > 0),
      {
        manager: o.fieldManager,
        operation: 'Apply' as const,
        apiVersion: this.apiVersion(r),
        time,
        paths: newSet,
      },
    ];
    const result = next as StoredObject;
    this.admit?.(r, result);
    const changed = !equal(strip(next), strip(live));
    if (changed) {
      result.metadata.resourceVersion = this.nextVersion();
      if (!equal(next.spec, live.spec)) result.metadata.generation = live.metadata.generation + 1;
    }
    if (!o.dryRun) {
      if (changed) this.objects.set(key, result);
      this.managers.set(key, nextManagers);
      if (changed)
        this.emit('change', { type: 'MODIFIED', resource: r, object: result } satisfies StoreEvent);
    }
    return { object: this.render(changed ? result : live, key), created: false };
  }

  /**
   * Replaces `status` only (the status subresource): resourceVersion moves, generation does not, and
   * `manager` takes the status fields it wrote.
   */
  setStatus(
    r: ServedResource,
    ns: string | undefined,
    name: string,
    status: Record<string, unknown>,
    o: { fieldManager?: string; dryRun?: boolean } = {},
  ): StoredObject {
    const key = this.key(r, ns, name);
    const live = this.objects.get(key);
    if (!live) throw this.notFound(r, name);
    const next = { ...structuredClone(live), status: structuredClone(status) } as StoredObject;
    this.admit?.(r, next);
    if (equal(live.status, next.status)) return this.render(live, key);
    next.metadata.resourceVersion = this.nextVersion();
    if (!o.dryRun) {
      this.objects.set(key, next);
      this.own(key, r, o.fieldManager, leafPaths({ status }).map(pathKey));
      this.emit('change', { type: 'MODIFIED', resource: r, object: next } satisfies StoreEvent);
    }
    return this.render(next, key);
  }

  /**
   * A non-apply write of the whole object (PUT, or a merge patch already merged by the caller): the
   * status stays as stored, `resourceVersion` (when given) must match, and the manager of an Update
   * takes the fields whose value it changed.
   */
  update(
    r: ServedResource,
    ns: string | undefined,
    name: string,
    body: Record<string, unknown>,
    o: { fieldManager?: string; dryRun?: boolean; resourceVersion?: string } = {},
  ): StoredObject {
    const key = this.key(r, ns, name);
    const live = this.objects.get(key);
    if (!live) throw this.notFound(r, name);
    if (o.resourceVersion !== undefined && o.resourceVersion !== live.metadata.resourceVersion) {
      throw new StoreError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${r.plural}${r.group ? `.${r.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: r.group, kind: r.plural },
      );
    }
    const next = structuredClone(strip(body)) as StoredObject;
    next.apiVersion = live.apiVersion;
    next.kind = live.kind;
    next.metadata = { ...(next.metadata as object), ...identity(live) } as StoredObject['metadata'];
    if (live.status !== undefined) next.status = structuredClone(live.status);
    this.admit?.(r, next);
    if (equal(strip(next), strip(live))) return this.render(live, key);
    next.metadata.resourceVersion = this.nextVersion();
    if (!equal(next.spec, live.spec)) next.metadata.generation = live.metadata.generation + 1;
    if (!o.dryRun) {
      this.objects.set(key, next);
      const touched = leafPaths(strip(next))
        .filter((p) => !IDENTITY.has(pathKey(p)) && !equal(getPath(next, p), getPath(live, p)))
        .map(pathKey);
      this.own(key, r, o.fieldManager, touched);
      this.emit('change', { type: 'MODIFIED', resource: r, object: next } satisfies StoreEvent);
    }
    return this.render(next, key);
  }

  /** Gives `paths` to `manager` (operation Update), taking them from every other manager. */
  private own(key: string, r: ServedResource, manager: string | undefined, paths: string[]): void {
    if (!paths.length) return;
    const name = manager ?? 'unknown';
    const ms = (this.managers.get(key) ?? []).map((m) => ({ ...m, paths: new Set(m.paths) }));
    for (const m of ms) for (const p of paths) m.paths.delete(p);
    let mine = ms.find((m) => m.manager === name && m.operation === 'Update');
    if (!mine) {
      mine = {
        manager: name,
        operation: 'Update',
        apiVersion: this.apiVersion(r),
        time: '',
        paths: new Set(),
      };
      ms.push(mine);
    }
    for (const p of paths) mine.paths.add(p);
    mine.time = serverTime(this.now());
    this.managers.set(
      key,
      ms.filter((m) => m.paths.size > 0),
    );
  }

  delete(
    r: ServedResource,
    ns: string | undefined,
    name: string,
    o: { dryRun?: boolean } = {},
  ): StoredObject {
    const key = this.key(r, ns, name);
    const live = this.objects.get(key);
    if (!live) throw this.notFound(r, name);
    if (!o.dryRun) {
      this.objects.delete(key);
      this.managers.delete(key);
      this.emit('change', { type: 'DELETED', resource: r, object: live } satisfies StoreEvent);
    }
    return live;
  }

  notFound(r: ServedResource, name: string): StoreError {
    return new StoreError(404, 'NotFound', `${r.plural}${r.group ? `.${r.group}` : ''} "${name}" not found`, {
      name,
      group: r.group,
      kind: r.plural,
    });
  }

  /** Loads objects saved with `all()`, keeping their identity. */
  load(r: ServedResource, o: StoredObject): void {
    this.objects.set(this.key(r, o.metadata.namespace, o.metadata.name), structuredClone(o));
    const rv = Number(o.metadata.resourceVersion);
    if (rv > this.rv) this.rv = rv;
  }
}

/** The fields the server owns in metadata, kept across updates. */
function identity(o: StoredObject): Partial<StoredObject['metadata']> {
  const m = o.metadata;
  return {
    name: m.name,
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    generation: m.generation,
    creationTimestamp: m.creationTimestamp,
  };
}

/** The object without server-owned fields: what an apply configuration may own. */
function strip(o: Record<string, Json>): Record<string, Json> {
  const { status: _s, metadata, ...rest } = o;
  const m = { ...((metadata as Record<string, Json> | undefined) ?? {}) };
  for (const k of [
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'managedFields',
    'deletionTimestamp',
    'selfLink',
  ])
    delete m[k];
  return { ...rest, metadata: m };
}

/** managedFields' FieldsV1 form: `{"f:spec": {"f:trafficPolicy": {}}}`. */
function fieldsV1(paths: Path[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let cur = root;
    for (const k of p) {
      const f = `f:${k}`;
      cur[f] ??= {};
      cur = cur[f] as Record<string, unknown>;
    }
  }
  return root;
}
