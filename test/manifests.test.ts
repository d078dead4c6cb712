import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  egressNetwork,
  route,
  routeForUrl,
  routeName,
  routeTypeConflict,
  checkOneTcpRoutePerPort,
  type Manifest,
  type RouteOptions,
} from '../src/manifests/build.js';
import {
  parseClusterNetworks,
  parseNetworkFlag,
  validateGrpcMethod,
  validateHostname,
  validateMethod,
  validateName,
  validateNamespace,
  validatePort,
} from '../src/manifests/validate.js';
import { toYamlDocs } from '../src/manifests/serialize.js';
import { diffObjects } from '../src/manifests/diff.js';
import { InvalidInput } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { startCluster } from './helpers/cluster.js';
import { base, CLUSTER, everything, withDefaults } from './helpers/manifests.js';

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
  // A query becomes exact queryParams matches, as `egress check` matches them.
  const q = r('http://httpbin.org/get?show_env=1&b=x%20y');
  assert.equal(q.metadata.name, 'http-httpbin-org-get-show-env-1-b-x-y');
  assert.deepEqual(q.spec.rules, [
    {
      matches: [
        {
          path: { type: 'PathPrefix', value: '/get' },
          queryParams: [
            { type: 'Exact', name: 'show_env', value: '1' },
            { type: 'Exact', name: 'b', value: 'x y' },
          ],
        },
      ],
    },
  ]);
  assert.equal(r('https://*.github.com').metadata.name, 'tls-wildcard-github-com');
  assert.equal(routeName('http', 'a'.repeat(80)).length, 63);
  assert.equal(routeName('http', 'a'.repeat(80)), routeName('http', 'a'.repeat(80)));
});

test('bad input is refused with the flag and the rule', () => {
  const r = (u: string) => () =>
    routeForUrl(u, { namespace: 'ns', network: 'net', networkNamespace: 'ns', exact: false });
  const cases: [() => unknown, string][] = [
    [r('ftp://x.org'), 'unsupported scheme "ftp" in "ftp://x.org": use http, https, grpc or tcp'],
    [
      r('https://httpbin.org/get'),
      '"https://httpbin.org/get": HTTPS is matched by the TLS SNI hostname only, never by path (the proxy cannot see inside TLS); drop "/get"',
    ],
    [
      r('http://Foo_Bar.com'),
      'invalid URL http://Foo_Bar.com: host "foo_bar.com": must be an RFC 1123 hostname (lowercase letters, digits, \'-\' and \'.\'), optionally with a leading "*." wildcard label (e.g. *.example.com)',
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
    [r('http://x.org:70000'), '"http://x.org:70000": port 70000 is out of range 1-65535'],
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

test('every validation rule refuses bad input with the flag and the rule', () => {
  const http = (o: Partial<RouteOptions>) => () =>
    route({ ...base, type: 'http', name: 'x', port: 80, ...o });
  const u = (url: string) => () =>
    routeForUrl(url, { namespace: 'ns', network: 'net', networkNamespace: 'ns', exact: false });
  const HOST_RULE =
    "must be an RFC 1123 hostname (lowercase letters, digits, '-' and '.'), optionally with a leading \"*.\" wildcard label (e.g. *.example.com)";
  const cases: [() => unknown, string][] = [
    [
      () => validateName('NAME', 'a'.repeat(254)),
      `invalid NAME "${'a'.repeat(77)}...": must be a DNS-1123 name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    ],
    [
      () => validateNamespace('-n/--namespace', 'a'.repeat(64)),
      `invalid -n/--namespace "${'a'.repeat(64)}": must be a DNS-1123 label: at most 63 lowercase letters, digits and '-'`,
    ],
    [
      () => validateNamespace('-n/--namespace', 'egress.test'),
      'invalid -n/--namespace "egress.test": must be a DNS-1123 label: at most 63 lowercase letters, digits and \'-\'',
    ],
    // Gateway API hostnames: a wildcard only as the whole leftmost label, lowercase, no trailing dot, no IPs.
    [() => validateHostname('--hostname', 'foo_bar.com'), `invalid --hostname "foo_bar.com": ${HOST_RULE}`],
    [
      () => validateHostname('--hostname', 'api.*.example.com'),
      `invalid --hostname "api.*.example.com": ${HOST_RULE}`,
    ],
    [() => validateHostname('--hostname', '*'), `invalid --hostname "*": ${HOST_RULE}`],
    [() => validateHostname('--hostname', '*example.com'), `invalid --hostname "*example.com": ${HOST_RULE}`],
    [() => validateHostname('--hostname', 'HttpBin.org'), `invalid --hostname "HttpBin.org": ${HOST_RULE}`],
    [() => validateHostname('--hostname', 'httpbin.org.'), `invalid --hostname "httpbin.org.": ${HOST_RULE}`],
    [
      () => validateHostname('--hostname', '2001:db8::1'),
      'invalid --hostname "2001:db8::1": Gateway API hostnames cannot be IP addresses; to allow an address, use egress allow tcp://:PORT or --network',
    ],
    [
      http({ hostnames: Array.from({ length: 17 }, (_, i) => `h${i}.io`) }),
      'invalid --hostname "h0.io,h1.io,h2.io,h3.io,h4.io,h5.io,h6.io,h7.io,h8.io,h9.io,h10.io,h11.io,h12...": at most 16 hostnames per route (got 17)',
    ],
    [http({ hostnames: ['a.org', 'a.org'] }), 'invalid --hostname "a.org": is given twice'],
    [() => validatePort('--port', '0'), 'invalid --port "0": must be a port number from 1 to 65535'],
    [() => validatePort('--port', 'http'), 'invalid --port "http": must be a port number from 1 to 65535'],
    [
      http({ headers: ['x tenant=blue'] }),
      'invalid --header "x tenant=blue": the header name may contain only RFC 7230 token characters',
    ],
    [
      http({ headers: ['x-tenant='] }),
      'invalid --header "x-tenant=": the header value must not be empty (a match needs a value)',
    ],
    [
      http({ headers: ['x-tenant=a', 'X-Tenant=b'] }),
      'invalid --header "X-Tenant=b": the header X-Tenant is already matched: give each header once',
    ],
    [
      http({ headers: [`x=${'v'.repeat(4097)}`] }),
      `invalid --header "x=${'v'.repeat(75)}...": the header value must be at most 4096 characters`,
    ],
    [
      http({ path: `/${'a'.repeat(1024)}` }),
      `invalid --path "/${'a'.repeat(76)}...": must be at most 1024 characters`,
    ],
    [http({ pathType: 'Exact' }), '--path-type Exact needs --path: it says how --path matches'],
    [
      () => validateGrpcMethod('--method', 'a/b/c'),
      'invalid --method "a/b/c": want SERVICE[/METHOD], e.g. grpcbin.GRPCBin/Index',
    ],
    [
      http({ backend: 'svc/Internal:80' }),
      'invalid --backend "svc/Internal:80": the Service name "Internal" must be a DNS-1035 label: at most 63 lowercase letters, digits and \'-\', starting with a letter',
    ],
    [
      http({ backend: 'svc/internal:0' }),
      'invalid --backend "svc/internal:0": the Service port must be from 1 to 65535',
    ],
    [
      () => route({ ...base, type: 'tls', name: 'x', port: 443, path: '/a' }),
      '--path, --method and --header do not apply to tls routes: TLS routes match the SNI hostname only',
    ],
    [
      () => route({ ...base, type: 'tcp', name: 'x', port: 5432, headers: ['a=b'] }),
      '--path, --method and --header do not apply to tcp routes: TCP routes match every connection on the port',
    ],
    [
      () => route({ ...base, type: 'grpc', name: 'x', port: 9000, path: '/a' }),
      '--path does not apply to grpc routes: use --method SERVICE[/METHOD]',
    ],
    [
      () => parseNetworkFlag('--network', '0.0.0.0/0,exclude=10.0.0.0/8'),
      'invalid --network "0.0.0.0/0,exclude=10.0.0.0/8": want CIDR[,except=CIDR...], e.g. 0.0.0.0/0,except=10.0.0.0/8',
    ],
    [
      () => parseNetworkFlag('--network', 'everything'),
      'invalid --network "everything": "everything" is not a CIDR: "everything" is not an IPv4 or IPv6 address',
    ],
    [
      () => parseClusterNetworks('10.0.0.0/8,banana'),
      'invalid --cluster-networks "10.0.0.0/8,banana": "banana" is not a CIDR: "banana" is not an IPv4 or IPv6 address',
    ],
    [
      () =>
        egressNetwork({
          name: 'v6',
          namespace: 'ns',
          trafficPolicy: 'Allow',
          networks: [parseNetworkFlag('--network', '::/0')],
          clusterNetworks: CLUSTER,
        }),
      '--network ::/0 overlaps the cluster network fd00::/8: Linkerd would mark EgressNetwork ns/v6 not Accepted (EgressReasonNetworkOverlap) and reject its routes; add except=fd00::/8',
    ],
    [
      u('httpbin.org'),
      'cannot read "httpbin.org" as a destination: use http://host[:port][/path], https://host[:port], grpc://host:port[/service[/method]] or tcp://:port',
    ],
    [u('http://'), '"http://": a http:// URL needs a host, e.g. http://httpbin.org'],
    [u('tcp://'), '"tcp://": a tcp:// URL needs a port, e.g. tcp://:5432'],
    [
      u('http://httpbin.org/get#top'),
      '"http://httpbin.org/get#top": a fragment ("#top") is never sent by a client, so nothing can match it; drop it',
    ],
    [
      u('https://httpbin.org/?show_env=1'),
      '"https://httpbin.org/?show_env=1": HTTPS is matched by the TLS SNI hostname only, never by query (the proxy cannot see inside TLS); drop "?show_env=1"',
    ],
    [
      u('http://httpbin.org/get?show_env'),
      'invalid URL http://httpbin.org/get?show_env: query "show_env": a route matches a query parameter by its value: give one, e.g. show_env=VALUE',
    ],
    [
      u('http://httpbin.org/get?a=1&a=2'),
      'invalid URL http://httpbin.org/get?a=1&a=2: query "a=2": the parameter a is already matched: give each parameter once',
    ],
  ];
  // UsageError (a flag) or InvalidInput (the URL grammar): both are invalid input, exit 2.
  for (const [fn, message] of cases)
    assert.throws(fn, (e: unknown) => e instanceof InvalidInput && e.message === message, message);
  // What the rules allow: a wildcard label, methods in any case, URL hosts in any case.
  assert.equal(validateHostname('--hostname', '*.example.com'), '*.example.com');
  assert.equal(validateMethod('--method', 'patch'), 'PATCH');
  const upper = routeForUrl('http://HttpBin.ORG/get', {
    namespace: 'ns',
    network: 'net',
    networkNamespace: 'ns',
    exact: false,
  });
  assert.deepEqual([upper.metadata.name, upper.spec.hostnames], ['http-httpbin-org-get', ['httpbin.org']]);
  const root = routeForUrl('http://httpbin.org', {
    namespace: 'ns',
    network: 'net',
    networkNamespace: 'ns',
    exact: true,
  });
  assert.deepEqual(root.spec.rules, [{ matches: [{ path: { type: 'Exact', value: '/' } }] }]);
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
      ['egress', 'route', 'http', 'x', '--port', '80', '--header', 'x-tenant=', '--dry-run'],
      'error: invalid --header "x-tenant=": the header value must not be empty (a match needs a value)\n',
    ],
    [
      ['egress', 'route', 'tls', 'x', '--port', '443', '--hostname', '10.1.2.3', '--dry-run'],
      'error: invalid --hostname "10.1.2.3": Gateway API hostnames cannot be IP addresses; to allow an address, use egress allow tcp://:PORT or --network\n',
    ],
    [
      ['egress', 'allow', 'https://httpbin.org:0', '--dry-run'],
      'error: "https://httpbin.org:0": port 0 is out of range 1-65535\n',
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

/**
 * Golden files: one per heredoc of the Linkerd egress guide (and its kubectl patch), each headed by the
 * egressctl command that reproduces it. The command is run as a user would and its output compared with
 * the file as parsed YAML; `UPDATE_GOLDEN=1` rewrites the files. Each is then compared with the guide's
 * object (examples/guide/, the guide's final state) as the API server stores both: CRD defaults filled
 * in, and without our `app.kubernetes.io/managed-by` label.
 */
const GOLDEN = new URL('./golden/', import.meta.url);
const EXAMPLES = new URL('../examples/guide/', import.meta.url);
function guideObject(kind: string, name: string): Manifest {
  const all = fs
    .readdirSync(EXAMPLES)
    .flatMap((f) =>
      parseAllDocuments(fs.readFileSync(new URL(f, EXAMPLES), 'utf8')).map((d) => d.toJS() as Manifest),
    );
  const o = all.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} in examples/guide`);
  return o;
}
const GUIDE: Record<string, () => Manifest> = {
  'guide-1-egressnetwork-allow.yaml': () => {
    const en = guideObject('EgressNetwork', 'all-egress-traffic');
    return { ...en, spec: { ...en.spec, trafficPolicy: 'Allow' } };
  },
  'guide-2-egressnetwork-deny.yaml': () => guideObject('EgressNetwork', 'all-egress-traffic'),
  'guide-3-httproute-httpbin-get.yaml': () => guideObject('HTTPRoute', 'httpbin-get'),
  'guide-4-tlsroute-tls-egress-httpbin.yaml': () => {
    const tls = guideObject('TLSRoute', 'tls-egress');
    return { ...tls, spec: { ...tls.spec, hostnames: ['httpbin.org'] } };
  },
  'guide-5-tlsroute-tls-egress-all.yaml': () => guideObject('TLSRoute', 'tls-egress'),
  'guide-6-httproute-unencrypted-http.yaml': () => guideObject('HTTPRoute', 'unencrypted-http'),
};
const unlabelled = (m: Manifest): Manifest => {
  const { labels: _labels, ...metadata } = m.metadata;
  return { ...m, metadata };
};

test('golden: one egressctl command per guide heredoc, output equal to the golden file and to the guide', async () => {
  const files = fs.readdirSync(GOLDEN).filter((f) => f.startsWith('guide-'));
  assert.deepEqual(files.sort(), Object.keys(GUIDE).sort());
  for (const f of files) {
    const text = fs.readFileSync(new URL(f, GOLDEN), 'utf8');
    const header = text.split('\n').filter((l) => l.startsWith('#'));
    const cmd = /^# \$ egressctl (.+)$/.exec(header[0] ?? '');
    assert.ok(cmd, `${f}: the first line names the command`);
    const r = await runCli((cmd[1] as string).split(' '));
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    if (process.env.UPDATE_GOLDEN === '1')
      fs.writeFileSync(new URL(f, GOLDEN), `${header.join('\n')}\n${r.stdout}`);
    const want = parseAllDocuments(text).map((d) => d.toJS() as Manifest);
    const got = parseAllDocuments(r.stdout).map((d) => d.toJS() as Manifest);
    assert.deepEqual(got, want, `${f}: output differs from the golden file (UPDATE_GOLDEN=1 to accept)`);
    assert.equal(got.length, 1);
    assert.deepEqual(
      withDefaults(unlabelled(got[0] as Manifest)),
      withDefaults((GUIDE[f] as () => Manifest)()),
      `${f}: differs from the guide's object`,
    );
  }
});

test('the YAML pipes into kubectl apply --dry-run=client -f - (skipped without kubectl)', async (t) => {
  const kubectl = process.env.PATH?.split(path.delimiter).find((d) => fs.existsSync(path.join(d, 'kubectl')));
  if (!kubectl) return t.skip('kubectl is not on PATH');
  // kubectl needs an API server even for a client dry run (discovery maps kinds to resources): the
  // sandbox's, on loopback. --validate=false because the sandbox serves no /openapi/v2; the CRD schemas
  // are checked by manifests-schema.test.ts instead.
  const c = await startCluster();
  try {
    c.world.namespace('egress-test');
    c.world.namespace('linkerd-egress');
    const objs = everything();
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(
        path.join(kubectl, 'kubectl'),
        ['--kubeconfig', c.kubeconfig, 'apply', '--dry-run=client', '--validate=false', '-f', '-'],
        { stdio: 'pipe' },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
      void toYamlDocs(objs).then((y) => child.stdin.end(y));
    });
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.length, objs.length);
    for (const [i, m] of objs.entries()) {
      const group = m.apiVersion.split('/')[0];
      assert.equal(lines[i], `${m.kind.toLowerCase()}.${group}/${m.metadata.name} created (dry run)`);
    }
  } finally {
    await c.close();
  }
});
