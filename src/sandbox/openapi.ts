import { createHash } from 'node:crypto';
import type http from 'node:http';
import { crdVersionOf, type Served } from './discovery.js';
import { emptyOpenApiV2, OPENAPI_V2_PROTOBUF } from './protobuf.js';
import { json, notFoundText, statusBody } from './responses.js';
import type { ServedResource } from './resources.js';

/**
 * `/openapi/v3` and `/openapi/v2` as kube-apiserver publishes them, built from the served kinds: the CRDs'
 * `openAPIV3Schema` (crds/), and an open object schema for the built-in kinds. Enough for what kubectl
 * does with them: `kubectl apply` asks the v3 document whether a kind's PATCH takes `fieldValidation`
 * (kubernetes/kubectl `pkg/cmd/util/factory_client_access.go` → cli-runtime `query_param_verifier_v3.go`)
 * and, when it does, leaves validation to the server; `kubectl explain` reads the schemas by their
 * `x-kubernetes-group-version-kind`. Conversion is identity, so every version of a CRD has its own schema.
 */

const VERSION = 'v1.34.2';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** `gateway.networking.k8s.io` → `io.k8s.networking.gateway`, as kube-openapi names definitions. */
const reversed = (group: string): string => group.split('.').reverse().join('.');

/** The definition name of a kind (`io.linkerd.policy.v1alpha1.EgressNetwork`, `io.k8s.api.core.v1.Pod`). */
export function definitionName(r: ServedResource): string {
  const prefix = r.crd ? reversed(r.group) : `io.k8s.api.${r.group || 'core'}`;
  return `${prefix}.${r.version}.${r.kind}`;
}

const gvk = (r: ServedResource) => [{ group: r.group, version: r.version, kind: r.kind }];

/** A kind's schema: the CRD's (metadata pointing at ObjectMeta), or an open object for built-ins. */
function schemaOf(r: ServedResource, ref: (name: string) => string): Record<string, unknown> {
  const crd = crdVersionOf(r)?.schema?.openAPIV3Schema;
  const base: Record<string, unknown> = crd
    ? structuredClone(crd)
    : {
        description: `${r.kind} (a built-in kind; the sandbox does not publish its fields)`,
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
      };
  const properties = (base.properties ?? {}) as Record<string, unknown>;
  base.properties = {
    ...properties,
    metadata: {
      description: 'Standard object metadata.',
      allOf: [{ $ref: ref(OBJECT_META) }],
    },
  };
  return { ...base, 'x-kubernetes-group-version-kind': gvk(r) };
}

const param = (name: string, description: string) => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string', uniqueItems: true },
});
const WRITE_PARAMS = [
  param('dryRun', 'When present, modifications are not persisted: All.'),
  param('fieldManager', 'The name of the actor making the change.'),
  param('fieldValidation', 'Ignore, Warn or Strict: what to do with unknown or duplicate fields.'),
];
// No strategic merge patch is advertised, built-ins included: their published schema is open, so kubectl
// computes a strategic patch from its own types instead (kubectl `pkg/cmd/apply/patcher.go`).
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
];

/** The v3 path items of one kind: its collection, its objects and their status. */
function pathsOf(r: ServedResource, ref: (name: string) => string): Record<string, unknown> {
  const root = r.group ? `/apis/${r.group}/${r.version}` : '/api/v1';
  const base = r.namespaced ? `${root}/namespaces/{namespace}/${r.plural}` : `${root}/${r.plural}`;
  const body = (types: string[]) => ({
    required: true,
    content: Object.fromEntries(types.map((t) => [t, { schema: { $ref: ref(definitionName(r)) } }])),
  });
  const ok = {
    '200': {
      description: 'OK',
      content: { 'application/json': { schema: { $ref: ref(definitionName(r)) } } },
    },
  };
  const op = (action: string, id: string, extra: Record<string, unknown> = {}) => ({
    operationId: `${id}${r.kind}`,
    responses: ok,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(r)[0],
    ...extra,
  });
  const object = {
    get: op('get', 'read'),
    put: op('put', 'replace', { parameters: WRITE_PARAMS, requestBody: body(['application/json']) }),
    patch: op('patch', 'patch', {
      parameters: [...WRITE_PARAMS, param('force', 'Force an apply: take over conflicting fields.')],
      requestBody: body(PATCH_TYPES),
    }),
    delete: op('delete', 'delete', { parameters: WRITE_PARAMS.slice(0, 1) }),
  };
  return {
    [base]: {
      get: op('list', 'list'),
      post: op('post', 'create', { parameters: WRITE_PARAMS, requestBody: body(['application/json']) }),
    },
    [`${base}/{name}`]: object,
    ...(r.status
      ? { [`${base}/{name}/status`]: { get: object.get, put: object.put, patch: object.patch } }
      : {}),
  };
}

const objectMeta = {
  description: 'ObjectMeta is metadata that all persisted resources must have.',
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
};

/** `api/v1` or `apis/G/V`: the key of a group-version in `/openapi/v3`. */
const gvKey = (group: string, version: string) => (group ? `apis/${group}/${version}` : 'api/v1');

/** The OpenAPI v3 document of one group-version. */
export function openApiV3(group: string, version: string, served: ServedResource[]): Record<string, unknown> {
  const rs = served.filter((r) => r.group === group && r.version === version);
  const ref = (name: string) => `#/components/schemas/${name}`;
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: VERSION },
    paths: Object.assign({}, ...rs.map((r) => pathsOf(r, ref))) as Record<string, unknown>,
    components: {
      schemas: {
        [OBJECT_META]: objectMeta,
        ...Object.fromEntries(rs.map((r) => [definitionName(r), schemaOf(r, ref)])),
      },
    },
  };
}

/** The Swagger 2.0 document of every served kind (`/openapi/v2`, JSON only). */
export function openApiV2(served: ServedResource[]): Record<string, unknown> {
  const ref = (name: string) => `#/definitions/${name}`;
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: VERSION },
    paths: {},
    definitions: {
      [OBJECT_META]: objectMeta,
      ...Object.fromEntries(served.map((r) => [definitionName(r), schemaOf(r, ref)])),
    },
  };
}

const hashOf = (doc: unknown) =>
  createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase().slice(0, 128);

/**
 * Answers GET `/openapi/v3`, `/openapi/v3/api/v1`, `/openapi/v3/apis/G/V` and `/openapi/v2`; false for
 * other paths. v2 is served as JSON only: a client asking for protobuf alone (kubectl does, and then goes
 * without it) gets 406, as a server without that encoding answers.
 */
export function serveOpenApi(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  parts: string[],
  served: Served,
): boolean {
  if (parts[0] !== 'openapi') return false;
  if (parts[1] === 'v2' && parts.length === 2) {
    const accept = String(req.headers.accept ?? '');
    if (accept.includes(OPENAPI_V2_PROTOBUF)) {
      const body = emptyOpenApiV2(VERSION);
      // kube-openapi answers the `@` of the Accept value as `.`: Go's mime parser refuses `@`.
      res.writeHead(200, {
        'Content-Type': OPENAPI_V2_PROTOBUF.replace('@', '.'),
        'Content-Length': body.length,
      });
      res.end(body);
      return true;
    }
    if (accept && !/application\/json|\*\/\*/.test(accept)) {
      json(res, 406, statusBody(406, 'NotAcceptable', '406: Not Acceptable'));
      return true;
    }
    json(res, 200, openApiV2(served()));
    return true;
  }
  if (parts[1] !== 'v3') {
    notFoundText(res);
    return true;
  }
  const gvs = new Map<string, [string, string]>();
  for (const r of served()) gvs.set(gvKey(r.group, r.version), [r.group, r.version]);
  const key = parts.slice(2).join('/');
  if (parts.length === 2) {
    const paths = Object.fromEntries(
      [...gvs].map(([k, [g, v]]) => [
        k,
        { serverRelativeURL: `/openapi/v3/${k}?hash=${hashOf(openApiV3(g, v, served()))}` },
      ]),
    );
    json(res, 200, { paths });
    return true;
  }
  const gv = gvs.get(key);
  if (!gv) notFoundText(res);
  else json(res, 200, openApiV3(gv[0], gv[1], served()));
  return true;
}
