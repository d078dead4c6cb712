import fs from 'node:fs';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { egressNetwork, route, routeForUrl, type Manifest } from '../../src/manifests/build.js';
import { parseClusterNetworks, parseNetworkFlag } from '../../src/manifests/validate.js';

/** Linkerd's default cluster networks. */
export const CLUSTER = parseClusterNetworks('10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');

/** The repo's CRD copies (`crds/`, identical to shared/crds): users and CI have them, not ../shared. */
export const CRD_DIR = new URL('../../crds/', import.meta.url);

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[];
  };
}

/** openAPIV3Schema by `group/version/Kind`, for every served version of every CRD in `crds/`. */
export const CRD_SCHEMAS = new Map<string, Record<string, unknown>>();
for (const f of fs.readdirSync(CRD_DIR).filter((x) => x.endsWith('.yaml'))) {
  const crd = parseYaml(fs.readFileSync(new URL(f, CRD_DIR), 'utf8')) as Crd;
  for (const v of crd.spec.versions)
    CRD_SCHEMAS.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, v.schema.openAPIV3Schema);
}

/** The schema the API server validates `m` against. */
export function crdSchema(m: { apiVersion: string; kind: string }): Record<string, unknown> {
  const s = CRD_SCHEMAS.get(`${m.apiVersion}/${m.kind}`);
  assert.ok(s, `no CRD in crds/ serves ${m.apiVersion} ${m.kind}`);
  return s;
}

/** Drops Kubernetes-only keywords ajv does not know (x-kubernetes-*), keeping the JSON Schema. */
function toJsonSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (!s || typeof s !== 'object') return s;
  return Object.fromEntries(
    Object.entries(s)
      .filter(([k]) => !k.startsWith('x-kubernetes-'))
      .map(([k, v]) => [k, toJsonSchema(v)]),
  );
}

// strict: false because the schemas carry Kubernetes keywords; CEL rules (x-kubernetes-validations)
// are not JSON Schema at all: manifests-schema.test.ts translates the ones on fields we generate.
// The OpenAPI formats the CRDs use, checked as the API server checks them.
const formats = {
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31 },
  int64: { type: 'number', validate: (n: number) => Number.isInteger(n) },
  'date-time': (s: string) => !Number.isNaN(Date.parse(s)),
} as const;
const ajv = new Ajv({ strict: false, allErrors: true, formats });
const ajvDefaults = new Ajv({ strict: false, allErrors: true, useDefaults: true, formats });
const compiled = new Map<string, ReturnType<Ajv['compile']>>();
function validator(a: Ajv, m: Manifest): ReturnType<Ajv['compile']> {
  const key = `${a === ajv ? 'plain' : 'defaults'}:${m.apiVersion}/${m.kind}`;
  let v = compiled.get(key);
  if (!v) {
    v = a.compile(toJsonSchema(crdSchema(m)) as object);
    compiled.set(key, v);
  }
  return v;
}

/** Asserts `m` is valid for its CRD's openAPIV3Schema, as sent (before server defaulting). */
export function assertValidForCrd(m: Manifest): void {
  const validate = validator(ajv, m);
  assert.ok(validate(m), `${m.kind} ${m.metadata.name}: ${ajv.errorsText(validate.errors)}`);
}

/**
 * `m` as the API server stores it: the CRD's `default`s filled in (e.g. a path match's type, a
 * backendRef's group and kind). CEL rules see this form, and two objects that differ only in defaulted
 * fields are the same object to Kubernetes.
 */
export function withDefaults(m: Manifest): Manifest {
  const copy = structuredClone(m);
  const validate = validator(ajvDefaults, copy);
  assert.ok(validate(copy), `${m.kind} ${m.metadata.name}: ${ajvDefaults.errorsText(validate.errors)}`);
  return copy;
}

export const base = {
  namespace: 'egress-test',
  network: 'all-egress-traffic',
  networkNamespace: 'egress-test',
  headers: [] as string[],
  pathType: 'PathPrefix' as const,
  backend: 'egress',
  hostnames: [] as string[],
};

const urlOpts = { namespace: 'egress-test', network: 'all-egress-traffic', networkNamespace: 'egress-test' };

/** Every object shape egressctl can generate: each builder, each URL form, each flag. */
export function everything(): Manifest[] {
  return [
    egressNetwork({
      name: 'all-egress-traffic',
      namespace: 'egress-test',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
    }),
    egressNetwork({
      name: 'public',
      namespace: 'linkerd-egress',
      trafficPolicy: 'Allow',
      networks: [
        parseNetworkFlag(
          '--network',
          '0.0.0.0/0,except=10.0.0.0/8,except=100.64.0.0/10,except=172.16.0.0/12,except=192.168.0.0/16',
        ),
        parseNetworkFlag('--network', '2001:db8::/32'),
      ],
      clusterNetworks: CLUSTER,
    }),
    ...[
      'http://httpbin.org/get',
      'http://httpbin.org/get?show_env=1&a=b',
      'http://httpbin.org:8080',
      'http://*.example.com/api/v1',
      'https://httpbin.org',
      'https://*.github.com:8443',
      'grpc://grpcb.in:9000',
      'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index',
      'grpc://grpcb.in:9000/grpcbin.GRPCBin',
      'tcp://:5432',
    ].map((u) => routeForUrl(u, { ...urlOpts, exact: false })),
    routeForUrl('http://httpbin.org/anything/x', { ...urlOpts, exact: true }),
    routeForUrl('http://httpbin.org', { ...urlOpts, exact: true }),
    route({
      ...base,
      type: 'http',
      name: 'httpbin-get',
      port: 80,
      path: '/get',
      method: 'get',
      headers: ['x-tenant=blue', 'X-Env=prod'],
    }),
    route({
      ...base,
      type: 'http',
      name: 'regex',
      port: 80,
      path: '^/v[0-9]+/.*$',
      pathType: 'RegularExpression',
      hostnames: ['api.example.com', '*.api.example.com'],
    }),
    route({ ...base, type: 'http', name: 'unencrypted-http', port: 80, backend: 'svc/internal-egress:80' }),
    route({
      ...base,
      type: 'grpc',
      name: 'grpc-hdr',
      port: 9000,
      method: 'grpcbin.GRPCBin',
      headers: ['x-a=b'],
    }),
    route({ ...base, type: 'grpc', name: 'grpc-method-only', port: 9000, method: '/Index' }),
    route({ ...base, type: 'grpc', name: 'grpc-svc', port: 9000, backend: 'svc/grpc-mirror:9000' }),
    route({ ...base, type: 'tls', name: 'tls-egress', port: 443, hostnames: ['httpbin.org'] }),
    route({ ...base, type: 'tls', name: 'tls-all', port: 443 }),
    route({ ...base, type: 'tls', name: 'tls-svc', port: 443, backend: 'svc/tls-proxy:443' }),
    route({ ...base, type: 'tcp', name: 'pg', port: 5432 }),
    route({ ...base, type: 'tcp', name: 'pg-svc', port: 5432, backend: 'svc/pgbouncer:5432' }),
  ];
}
