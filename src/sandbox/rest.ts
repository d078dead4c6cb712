import type http from 'node:http';
import { parse as parseYaml } from 'yaml';
import { verbOf, type Authorize } from './auth.js';
import type { Served } from './discovery.js';
import { jsonPatch, mergePatch } from './patch.js';
import { apiVersionOf, json, methodNotAllowed, notFoundText } from './responses.js';
import { SERVED, storageOf, type ServedResource } from './resources.js';
import { decodeProtobufObject, PROTOBUF } from './protobuf.js';
import { crdSchemas, prune } from './schema.js';
import { tablePrinted, toTable, wantsTable } from './table.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { StoreError, type Store, type StoredObject } from './store.js';

const badRequest = (message: string) => new StoreError(400, 'BadRequest', message);

const UNSUPPORTED_PATCH =
  'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';

/**
 * Serves one resource request whose body has been read: `/api/v1/...` or `/apis/G/V/...`, namespaced
 * or not, the object, its collection, or its `/status`. Answers on `res`, or throws a StoreError for
 * the caller to turn into a Status body.
 */
export type RestHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  body: string,
  /** The body's bytes, for protobuf. */
  raw?: Buffer,
) => void;

/** What a resource URL names: a served kind, its namespace, and the object and subresource if any. */
export interface ResourcePath {
  r: ServedResource;
  ns: string | undefined;
  name: string | undefined;
  sub: 'status' | undefined;
}

/**
 * Reads `/api/v1/[namespaces/NS/]PLURAL[/NAME[/status]]` or the same under `/apis/GROUP/VERSION`;
 * undefined for anything kube-apiserver would answer with its plain 404: an unserved kind, an unknown
 * subresource, a namespace on a cluster-scoped kind, a longer path.
 */
export function resourcePath(pathname: string, served: ServedResource[]): ResourcePath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') [group, version, rest] = ['', 'v1', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4)
    [group, version, rest] = [parts[1] as string, parts[2] as string, parts.slice(3)];
  else return undefined;
  let ns: string | undefined;
  // `namespaces/x` alone is the Namespace object itself; longer paths are namespaced resources.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub] = rest as [string, string | undefined, string | undefined];
  const r = served.find((x) => x.group === group && x.version === version && x.plural === plural);
  if (!r || rest.length > 3 || (sub !== undefined && !(sub === 'status' && r.status))) return undefined;
  if (!r.namespaced && ns !== undefined) return undefined;
  return { r, ns, name, sub: sub === 'status' ? 'status' : undefined };
}

/**
 * The REST verbs on the store, as kube-apiserver answers them: get and list (label and field
 * selectors), create, update (PUT, with resourceVersion preconditions), delete, merge and JSON patch,
 * server-side apply (field managers, conflicts, force), the status subresource, dryRun=All and
 * fieldValidation (CRD pruning with warnings, or Strict refusals). Admission runs in the store (`Store.admit`).
 */
export function createRestHandler(o: { store: Store; served: Served; authorize: Authorize }): RestHandler {
  const { store, served } = o;
  return (req, res, url, text, raw) => {
    const method = req.method ?? 'GET';
    const body = (req.headers['content-type'] ?? '').startsWith(PROTOBUF) ? fromProtobuf(raw) : text;
    const target = resourcePath(url.pathname, served());
    if (!target) return notFoundText(res);
    const { ns, name, sub } = target;
    // `asked` is the version in the URL; the store keeps one object per kind at `r` (identity conversion).
    const asked = target.r;
    const r = storageOf(asked);
    const plural = r.plural;
    const verb = verbOf(method, name !== undefined);
    const no = o.authorize(r, verb, sub ? `${plural}/${sub}` : plural, ns, name);
    if (no) throw no;
    const query = url.searchParams;
    const dryRunParam = query.get('dryRun');
    if (dryRunParam !== null && dryRunParam !== 'All')
      throw new StoreError(
        422,
        'Invalid',
        `dryRun: Unsupported value: "${dryRunParam}": supported values: "All"`,
      );
    const dryRun = dryRunParam === 'All';
    const fieldValidation = query.get('fieldValidation') ?? 'Warn';
    if (!['Ignore', 'Warn', 'Strict'].includes(fieldValidation)) {
      throw badRequest(
        `fieldValidation: Unsupported value: "${fieldValidation}": supported values: "Ignore", "Warn", "Strict"`,
      );
    }
    const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const isApply = method === 'PATCH' && ct === 'application/apply-patch+yaml';
    if (query.has('force') && !isApply) {
      throw new StoreError(
        422,
        'Invalid',
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
        {
          group: 'meta.k8s.io',
          kind: 'PatchOptions',
          causes: [
            {
              reason: 'FieldValueForbidden',
              message: 'Forbidden: may not be specified for non-apply patch',
              field: 'force',
            },
          ],
        },
      );
    }
    if (
      r.namespaced &&
      ns !== undefined &&
      (method === 'POST' || method === 'PATCH' || method === 'PUT') &&
      !store.get(type('Namespace'), undefined, ns)
    ) {
      throw new StoreError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    }
    const manager =
      query.get('fieldManager') ?? String(req.headers['user-agent'] ?? 'unknown').split('/')[0] ?? 'unknown';
    const warnings: string[] = [];
    /** The request body as an object, pruned to the CRD schema (strict validation refuses instead). */
    const object = (opts: { apply?: boolean } = {}): Record<string, unknown> => {
      const obj = parseBody(body, r, opts.apply === true);
      const schema = r.crd ? crdSchemas().get(`${r.group}/${asked.version}/${r.kind}`) : undefined;
      const unknown = schema && fieldValidation !== 'Ignore' ? prune(schema, obj) : [];
      if (schema && fieldValidation === 'Ignore') prune(schema, obj);
      if (unknown.length && fieldValidation === 'Strict') {
        throw badRequest(
          opts.apply
            ? `failed to create typed patch object (${ns ? `${ns}/` : ''}${name}; ${apiVersionOf(asked)}, Kind=${r.kind}): ${unknown[0]}: field not declared in schema`
            : `${r.kind} in version "${asked.version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u.slice(1)}"`).join(', ')}`,
        );
      }
      warnings.push(...unknown.map((u) => `unknown field "${u.slice(1)}"`));
      checkIdentity(asked, obj, name);
      if (obj.apiVersion !== undefined) obj.apiVersion = apiVersionOf(r);
      return obj;
    };
    /** A stored object as the asked version shows it. */
    const shown = <T>(o: T): T =>
      o && typeof o === 'object' && (o as { kind?: unknown }).kind === r.kind
        ? { ...o, apiVersion: apiVersionOf(asked) }
        : o;
    const reply = (code: number, out: unknown) =>
      json(
        res,
        code,
        shown(out),
        warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {},
      );

    const table = method === 'GET' && sub === undefined && tablePrinted(r) && wantsTable(req);
    if (method === 'GET' && name === undefined) {
      let items = store.list(r, ns);
      try {
        const labels = parseLabelSelector(query.get('labelSelector') ?? '');
        const fields = parseFieldSelector(query.get('fieldSelector') ?? '', r.kind);
        items = items.filter((i) => labels(i.metadata.labels) && fields(i));
      } catch (e) {
        throw badRequest((e as Error).message);
      }
      if (table) return json(res, 200, toTable(asked, items, store.resourceVersion));
      return json(res, 200, {
        kind: `${r.kind}List`,
        apiVersion: apiVersionOf(asked),
        metadata: { resourceVersion: store.resourceVersion },
        items: items.map(({ apiVersion: _a, kind: _k, ...i }) => i),
      });
    }
    if (name === undefined) {
      if (method !== 'POST') return methodNotAllowed(res);
      const obj = object();
      const created = store.create(r, ns, obj, { fieldManager: manager, dryRun });
      return reply(201, created);
    }
    const live = store.get(r, ns, name);
    if (method === 'GET') {
      if (!live) throw store.notFound(r, name);
      if (table) return json(res, 200, toTable(asked, [live], store.resourceVersion));
      return json(res, 200, shown(live));
    }
    if (method === 'DELETE') return json(res, 200, shown(store.delete(r, ns, name, { dryRun })));
    if (method !== 'PATCH' && method !== 'PUT') return methodNotAllowed(res);
    if (isApply && !query.get('fieldManager')) {
      throw new StoreError(
        422,
        'Invalid',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        {
          group: 'meta.k8s.io',
          kind: 'PatchOptions',
          causes: [
            {
              reason: 'FieldValueRequired',
              message: 'Required value: is required for apply patch',
              field: 'fieldManager',
            },
          ],
        },
      );
    }
    if (method === 'PATCH' && !isApply && !patchable(ct, r)) {
      throw new StoreError(415, 'UnsupportedMediaType', UNSUPPORTED_PATCH);
    }
    // Creating through apply also needs `create`.
    if (isApply && !live && sub === undefined) {
      const noCreate = o.authorize(r, 'create', plural, ns, name);
      if (noCreate) throw noCreate;
    }
    if (!live && !(isApply && sub === undefined)) throw store.notFound(r, name);
    if (sub === 'status') {
      const current = live as StoredObject;
      const base = { status: current.status ?? {} };
      const next =
        method === 'PUT'
          ? (object() as { status?: Record<string, unknown> })
          : (patched(ct, base, isApply ? parseBody(body, r, true) : parseJson(body, r)) as {
              status?: Record<string, unknown>;
            });
      return reply(200, store.setStatus(r, ns, name, next.status ?? {}, { fieldManager: manager, dryRun }));
    }
    if (isApply) {
      const obj = object({ apply: true });
      const out = store.apply(r, ns, name, obj, {
        fieldManager: manager,
        force: query.get('force') === 'true',
        dryRun,
      });
      return reply(out.created ? 201 : 200, out.object);
    }
    const current = live as StoredObject;
    if (method === 'PUT') {
      const obj = object();
      const rv = (obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      return reply(
        200,
        store.update(r, ns, name, obj, {
          fieldManager: manager,
          dryRun,
          ...(rv ? { resourceVersion: rv } : {}),
        }),
      );
    }
    const { metadata: _m, ...rest } = current;
    const next = patched(ct, { ...shown(rest), metadata: publicMeta(current) }, parseJson(body, r)) as Record<
      string,
      unknown
    >;
    checkIdentity(asked, next, name);
    next.apiVersion = apiVersionOf(r);
    return reply(200, store.update(r, ns, name, next, { fieldManager: manager, dryRun }));
  };
}

/** A protobuf body (kubectl's typed clients send built-ins so) as JSON text, or 415 for what is not decoded. */
function fromProtobuf(raw: Buffer | undefined): string {
  try {
    return JSON.stringify(decodeProtobufObject(raw ?? Buffer.alloc(0)));
  } catch (e) {
    throw new StoreError(415, 'UnsupportedMediaType', (e as Error).message);
  }
}

const type = (kind: string): ServedResource =>
  SERVED.find((r) => r.kind === kind && r.group === '') as ServedResource;

/** The patch types a kind takes besides apply: strategic merge only on built-in kinds (as a merge patch here). */
function patchable(ct: string, r: ServedResource): boolean {
  if (ct === 'application/merge-patch+json' || ct === 'application/json-patch+json') return true;
  return ct === 'application/strategic-merge-patch+json' && !r.crd;
}

function patched(ct: string, base: unknown, patch: unknown): unknown {
  try {
    return ct === 'application/json-patch+json' ? jsonPatch(base, patch) : mergePatch(base, patch);
  } catch (e) {
    throw new StoreError(422, 'Invalid', (e as Error).message);
  }
}

/** metadata without the fields the store renders (managedFields), for patching. */
function publicMeta(o: StoredObject): Record<string, unknown> {
  const { managedFields: _mf, ...m } = o.metadata;
  return m;
}

function parseJson(text: string, r: ServedResource): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest(`the body of the ${r.kind} request is not valid JSON: ${(e as Error).message}`);
  }
}

/** JSON, or for apply YAML (JSON is YAML); must be one object. */
function parseBody(text: string, r: ServedResource, yaml: boolean): Record<string, unknown> {
  let v: unknown;
  try {
    v = yaml ? (parseYaml(text) as unknown) : JSON.parse(text);
  } catch (e) {
    throw badRequest(
      `error decoding ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0] ?? ''}`,
    );
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw badRequest(`the body of the ${r.kind} request must be a single object`);
  }
  return v as Record<string, unknown>;
}

/** The body's name must match the URL's; its apiVersion/kind, when set, the endpoint's. */
function checkIdentity(r: ServedResource, obj: Record<string, unknown>, name: string | undefined): void {
  const meta = obj.metadata as { name?: string } | undefined;
  if (name !== undefined && meta?.name !== undefined && meta.name !== name) {
    throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  }
  if (
    (obj.kind !== undefined && obj.kind !== r.kind) ||
    (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(r))
  ) {
    throw badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`,
    );
  }
}
