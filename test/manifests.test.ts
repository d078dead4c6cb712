import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Ajv } from 'ajv';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  egressNetwork,
  route,
  routeForUrl,
  routeName,
  routeTypeConflict,
  checkOneTcpRoutePerPort,
  type Manifest,
} from '../src/manifests/build.js';
import { parseClusterNetworks, parseNetworkFlag } from '../src/manifests/validate.js';
import { toYamlDocs } from '../src/manifests/serialize.js';
import { diffObjects } from '../src/manifests/diff.js';
import { runCli } from './helpers/cli.js';

const CLUSTER = parseClusterNetworks('10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');

/** The openAPIV3Schema of each served version of the repo's CRD copies (identical to shared/crds). */
interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[];
  };
}
const schemas = new Map<string, Record<string, unknown>>();
for (const f of fs.readdirSync(new URL('../crds/', import.meta.url)).filter((x) => x.endsWith('.yaml'))) {
  const crd = parseYaml(fs.readFileSync(new URL(`../crds/${f}`, import.meta.url), 'utf8')) as Crd;
  for (const v of crd.spec.versions)
    schemas.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, v.schema.openAPIV3Schema);
}
const ajv = new Ajv({ strict: false, allErrors: true });
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
function validateAgainstCrd(m: Manifest): void {
  const schema = schemas.get(`${m.apiVersion}/${m.kind}`);
  assert.ok(schema, `no CRD serves ${m.apiVersion} ${m.kind}`);
  const validate = ajv.compile(toJsonSchema(schema) as object);
  // The API server fills defaults before validating; the schema's required fields with defaults
  // (e.g. path.type) are only required after defaulting, which we do not need to emulate here.
  assert.ok(validate(m), `${m.kind} ${m.metadata.name}: ${ajv.errorsText(validate.errors)}`);
}

const base = {
  namespace: 'egress-test',
  network: 'all-egress-traffic',
  networkNamespace: 'egress-test',
  headers: [] as string[],
  pathType: 'PathPrefix' as const,
  backend: 'egress',
  hostnames: [] as string[],
};

/** Every object shape egressctl can generate. */
function everything(): Manifest[] {
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
      'http://httpbin.org:8080',
      'https://httpbin.org',
      'https://*.github.com:8443',
      'grpc://grpcb.in:9000',
      'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index',
      'grpc://grpcb.in:9000/grpcbin.GRPCBin',
      'tcp://:5432',
    ].map((u) =>
      routeForUrl(u, {
        namespace: 'egress-test',
        network: 'all-egress-traffic',
        networkNamespace: 'egress-test',
        exact: false,
      }),
    ),
    routeForUrl('http://httpbin.org/anything/x', {
      namespace: 'egress-test',
      network: 'all-egress-traffic',
      networkNamespace: 'egress-test',
      exact: true,
    }),
    route({
      ...base,
      type: 'http',
      name: 'httpbin-get',
      port: 80,
      path: '/get',
      method: 'get',
      headers: ['x-tenant=blue'],
    }),
    route({
      ...base,
      type: 'http',
      name: 'regex',
      port: 80,
      path: '^/v[0-9]+/.*$',
      pathType: 'RegularExpression',
      hostnames: ['api.example.com'],
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
    route({ ...base, type: 'tls', name: 'tls-egress', port: 443, hostnames: ['httpbin.org'] }),
    route({ ...base, type: 'tcp', name: 'pg', port: 5432 }),
  ];
}

test('every generated object validates against its CRD openAPIV3Schema (shared/crds)', () => {
  for (const m of everything()) validateAgainstCrd(m);
});

test("the CRDs' CEL rules hold for what we generate", () => {
  for (const m of everything()) {
    const spec = m.spec as {
      parentRefs?: { kind: string; port?: number; group?: string }[];
      rules?: Record<string, unknown>[];
      hostnames?: string[];
    };
    // Linkerd admission: "cannot target an EgressNetwork without specifying a port"; group required.
    for (const p of spec.parentRefs ?? [])
      assert.ok(p.port !== undefined && p.group === 'policy.linkerd.io', m.metadata.name);
    // TLSRoute / TCPRoute: exactly one rule (Linkerd admission).
    if (m.kind === 'TLSRoute' || m.kind === 'TCPRoute') assert.equal(spec.rules?.length, 1);
    for (const rule of spec.rules ?? []) {
      // HTTPRoute backendRef CEL: a Service (empty group) needs a port.
      for (const b of (rule.backendRefs as { group?: string; kind?: string; port?: number }[] | undefined) ??
        []) {
        if ((b.group ?? '') === '' && (b.kind ?? 'Service') === 'Service')
          assert.ok(b.port !== undefined, `${m.metadata.name}: Service backend without port`);
      }
      for (const match of (rule.matches as Record<string, unknown>[] | undefined) ?? []) {
        const path = match.path as { type: string; value: string } | undefined;
        if (path && (path.type === 'Exact' || path.type === 'PathPrefix')) {
          assert.ok(path.value.startsWith('/'));
          for (const bad of ['//', '/./', '/../', '%2f', '%2F', '#']) assert.ok(!path.value.includes(bad));
          assert.match(path.value, /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/);
        }
        const method = match.method as
          { type?: string; service?: string; method?: string } | string | undefined;
        if (m.kind === 'GRPCRoute' && typeof method === 'object') {
          // "One or both of 'service' or 'method' must be specified", and their character rules.
          assert.ok(method.service !== undefined || method.method !== undefined);
          if (method.service) assert.match(method.service, /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i);
          if (method.method) assert.match(method.method, /^[A-Za-z_][A-Za-z_0-9]*$/);
        }
      }
    }
  }
});

test('URLs become readable, deterministic routes of the right kind', () => {
  const r = (u: string) =>
    routeForUrl(u, { namespace: 'ns', network: 'net', networkNamespace: 'ns', exact: false });
  assert.deepEqual(r('http://httpbin.org/get').spec, {
    parentRefs: [
      { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'net', namespace: 'ns', port: 80 },
    ],
    hostnames: ['httpbin.org'],
    rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/get' } }] }],
  });
  assert.deepEqual(r('https://httpbin.org').spec, {
    parentRefs: [
      { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'net', namespace: 'ns', port: 443 },
    ],
    hostnames: ['httpbin.org'],
    rules: [{ backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'net' }] }],
  });
  assert.deepEqual((r('grpc://grpcb.in:9000/grpcbin.GRPCBin/Index').spec.rules as unknown[])[0], {
    matches: [{ method: { type: 'Exact', service: 'grpcbin.GRPCBin', method: 'Index' } }],
  });
  assert.equal(r('tcp://:5432').kind, 'TCPRoute');
  assert.equal(r('https://*.github.com').metadata.name, 'tls-wildcard-github-com');
  assert.equal(routeName('http', 'a'.repeat(80)).length, 63);
  assert.equal(routeName('http', 'a'.repeat(80)), routeName('http', 'a'.repeat(80)));
});

test('bad input is refused with the flag and the rule', () => {
  const r = (u: string) => () =>
    routeForUrl(u, { namespace: 'ns', network: 'net', networkNamespace: 'ns', exact: false });
  const cases: [() => unknown, string][] = [
    [
      r('ftp://x.org'),
      'unsupported scheme "ftp" in "ftp://x.org": use http://host[:port][/path], https://host[:port], grpc://host:port[/service[/method]] or tcp://:port',
    ],
    [
      r('https://httpbin.org/get'),
      '"https://httpbin.org/get": HTTPS is matched by the TLS SNI hostname only, never by path (the proxy cannot see inside TLS); drop "/get"',
    ],
    [
      r('http://Foo_Bar.com'),
      'invalid URL http://Foo_Bar.com: host "Foo_Bar.com": must be an RFC 1123 hostname in lowercase, optionally with a leading "*." wildcard label (e.g. *.example.com)',
    ],
    [
      r('http://203.0.113.10/'),
      'invalid URL http://203.0.113.10/: host "203.0.113.10": Gateway API hostnames cannot be IP addresses; to allow an address, use egress allow tcp://:PORT or --network',
    ],
    [r('grpc://grpcb.in'), '"grpc://grpcb.in": a grpc:// URL needs a port, e.g. grpc://grpcb.in:9000'],
    [
      r('tcp://db.example.com:5432'),
      '"tcp://db.example.com:5432": TCP routes cannot match a host (a TCPRoute takes every connection on its port); use tcp://:5432',
    ],
    [r('http://x.org:70000'), 'invalid http://x.org:70000 "70000": must be a port number from 1 to 65535'],
    [r('http://x.org/a//b'), 'invalid --path "/a//b": must not contain \'//\''],
    [
      () => route({ ...base, type: 'http', name: 'Bad_Name', port: 80 }),
      "invalid NAME \"Bad_Name\": must be a DNS-1123 name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    ],
    [
      () => route({ ...base, type: 'http', name: 'x', port: 80, method: 'FETCH' }),
      'invalid --method "FETCH": must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH',
    ],
    [
      () => route({ ...base, type: 'http', name: 'x', port: 80, headers: ['novalue'] }),
      'invalid --header "novalue": want NAME=VALUE, e.g. x-tenant=blue',
    ],
    [
      () => route({ ...base, type: 'http', name: 'x', port: 80, path: '(', pathType: 'RegularExpression' }),
      'invalid --path "(": is not a valid regular expression (Invalid regular expression: /(/: Unterminated group)',
    ],
    [
      () => route({ ...base, type: 'http', name: 'x', port: 80, backend: 'svc/foo' }),
      'invalid --backend "svc/foo": want svc/NAME:PORT (redirect to an in-cluster Service) or egress (on to the original host)',
    ],
    [
      () => route({ ...base, type: 'tcp', name: 'x', port: 5432, hostnames: ['a.b'] }),
      '--hostname does not apply to tcp routes: a TCPRoute matches every connection on its port',
    ],
    [
      () => parseNetworkFlag('--network', '10.0.0.0/8,except=11.0.0.0/16'),
      'invalid --network "10.0.0.0/8,except=11.0.0.0/16": the exception 11.0.0.0/16 is not inside 10.0.0.0/8 (Linkerd\'s admission rejects it)',
    ],
    [
      () => parseNetworkFlag('--network', '10.0.0.0/8,except=10.0.0.0/8'),
      'invalid --network "10.0.0.0/8,except=10.0.0.0/8": the exception 10.0.0.0/8 negates all of 10.0.0.0/8 (Linkerd\'s admission rejects it)',
    ],
    [
      () => parseNetworkFlag('--network', '10.0.0.1/8'),
      'invalid --network "10.0.0.1/8": "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)',
    ],
    [
      () =>
        egressNetwork({
          name: 'n',
          namespace: 'ns',
          trafficPolicy: 'Deny',
          networks: [parseNetworkFlag('--network', '0.0.0.0/0,except=10.0.0.0/8')],
          clusterNetworks: CLUSTER,
        }),
      '--network 0.0.0.0/0,except=10.0.0.0/8 overlaps the cluster networks 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16: Linkerd would mark EgressNetwork ns/n not Accepted (EgressReasonNetworkOverlap) and reject its routes; add except=100.64.0.0/10,except=172.16.0.0/12,except=192.168.0.0/16',
    ],
    [
      () =>
        checkOneTcpRoutePerPort([
          route({ ...base, type: 'tcp', name: 'a', port: 5432 }),
          route({ ...base, type: 'tcp', name: 'b', port: 5432 }),
        ]),
      'TCPRoute b would be the second TCPRoute on EgressNetwork all-egress-traffic port 5432 (after a): Linkerd uses only one TCPRoute per port, the oldest, and ignores the rest',
    ],
  ];
  for (const [fn, message] of cases) assert.throws(fn, { message }, message);
});

test("route type conflicts explain Linkerd's precedence either way", () => {
  const existing = [
    { kind: 'HTTPRoute', name: 'h', namespace: 'ns', port: 443, network: 'net', networkNamespace: 'ns' },
  ];
  assert.equal(
    routeTypeConflict(
      { kind: 'TLSRoute', name: 't', port: 443, network: 'net', networkNamespace: 'ns' },
      existing,
    ),
    'EgressNetwork ns/net port 443 already has HTTPRoute ns/h: Linkerd accepts only HTTPRoute on a port with mixed route types (precedence GRPCRoute > HTTPRoute > TLSRoute > TCPRoute), so this TLSRoute would be rejected as RouteReasonConflicted',
  );
  assert.match(
    routeTypeConflict(
      { kind: 'GRPCRoute', name: 'g', port: 443, network: 'net', networkNamespace: 'ns' },
      existing,
    ) ?? '',
    /accept only GRPCRoute .* so those would be rejected/,
  );
  assert.equal(
    routeTypeConflict(
      { kind: 'HTTPRoute', name: 'h2', port: 443, network: 'net', networkNamespace: 'ns' },
      existing,
    ),
    undefined,
  );
  assert.equal(
    routeTypeConflict(
      { kind: 'TLSRoute', name: 't', port: 8443, network: 'net', networkNamespace: 'ns' },
      existing,
    ),
    undefined,
  );
});

test('YAML output is multi-document, parses back to the same objects, and the diff is semantic', async () => {
  const objs = everything();
  const text = await toYamlDocs(objs);
  assert.deepEqual(
    parseAllDocuments(text).map((d) => d.toJS() as unknown),
    objs,
  );
  assert.equal(text.split('\n---\n').length, objs.length);
  const live = {
    ...objs[0],
    metadata: { ...objs[0]?.metadata, uid: 'x', resourceVersion: '9', managedFields: [{}] },
    status: { conditions: [] },
  };
  assert.equal(diffObjects('egressnetwork/x', live, objs[0]), '');
  const changed = diffObjects('egressnetwork/x', live, { ...objs[0], spec: { trafficPolicy: 'Allow' } });
  assert.match(changed, /^--- egressnetwork\/x \(live\)\n\+\+\+ egressnetwork\/x \(after apply\)\n/);
  assert.match(changed, /\n- {3}trafficPolicy: Deny\n\+ {3}trafficPolicy: Allow\n/);
});

test('CLI: --dry-run=client prints YAML or JSON without any kubeconfig; usage errors exit 2 with one line', async () => {
  const yaml = await runCli(['egress', 'deny', '-n', 'egress-test', '--dry-run=client', '-o', 'yaml']);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.deepEqual(parseYaml(yaml.stdout), {
    apiVersion: 'policy.linkerd.io/v1alpha1',
    kind: 'EgressNetwork',
    metadata: {
      name: 'all-egress-traffic',
      namespace: 'egress-test',
      labels: { 'app.kubernetes.io/managed-by': 'egressctl' },
    },
    spec: { trafficPolicy: 'Deny' },
  });
  const json = await runCli([
    'egress',
    'allow',
    '-n',
    'egress-test',
    'http://httpbin.org/get',
    'https://httpbin.org',
    '--dry-run=client',
    '-o',
    'json',
  ]);
  assert.equal(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as { kind: string; items: Manifest[] };
  assert.equal(list.kind, 'List');
  assert.deepEqual(
    list.items.map((i) => `${i.kind}/${i.metadata.name}`),
    ['HTTPRoute/http-httpbin-org-get', 'TLSRoute/tls-httpbin-org'],
  );
  const noNs = await runCli(['egress', 'deny', '--dry-run=client']);
  assert.equal((parseYaml(noNs.stdout) as Manifest).metadata.namespace, 'default');
  for (const [args, err] of [
    [
      ['egress', 'route', 'http', 'x', '--dry-run'],
      'error: --port is required: the EgressNetwork port the route attaches to (the original destination port, e.g. 80 or 443)\n',
    ],
    [
      ['egress', 'route', 'udp', 'x', '--port', '53'],
      'error: unknown route type "udp": use http, grpc, tls or tcp\n',
    ],
    [
      ['egress', 'allow', 'tcp://:5432', 'tcp://:5432', '--dry-run'],
      'error: TCPRoute tcp-5432 would be the second TCPRoute on EgressNetwork all-egress-traffic port 5432 (after tcp-5432): Linkerd uses only one TCPRoute per port, the oldest, and ignores the rest\n',
    ],
    [
      ['egress', 'deny', '--global', '-n', 'x'],
      'error: --global and -n are exclusive: --global writes to the global egress namespace (--egress-namespace)\n',
    ],
    [
      ['egress', 'deny', '--diff', '--dry-run=server'],
      'error: --diff already changes nothing: drop --dry-run\n',
    ],
    [
      ['egress', 'deny', '-n', 'Bad_NS', '--dry-run'],
      'error: invalid -n/--namespace "Bad_NS": must be a DNS-1123 label: at most 63 lowercase letters, digits and \'-\'\n',
    ],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, err, args.join(' '));
    assert.equal(r.stdout, '');
  }
  const global = await runCli(['egress', 'deny', '--global', '--dry-run', '-o', 'name']);
  assert.equal(global.stdout, 'egressnetwork.policy.linkerd.io/all-egress-traffic\n');
  const gyaml = await runCli([
    'egress',
    'deny',
    '--global',
    '--egress-namespace',
    'egress-global',
    '--dry-run',
  ]);
  assert.equal((parseYaml(gyaml.stdout) as Manifest).metadata.namespace, 'egress-global');
});
