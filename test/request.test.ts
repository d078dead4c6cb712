import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidInput } from '../src/errors.js';
import { parseCidr } from '../src/net/cidr.js';
import { parseRequest, type ParsedRequest } from '../src/net/request.js';
import { decide, parseRequestUrl } from '../src/policy/engine.js';
import { runCli } from './helpers/cli.js';

/** One row: the input and what both modes read from it. */
const req = (
  scheme: ParsedRequest['scheme'],
  host: string,
  hostKind: ParsedRequest['hostKind'],
  port: number,
  path = '',
  query: [string, string][] = [],
): ParsedRequest => ({ scheme, host, hostKind, port, path, query });

const ACCEPTED: [string, ParsedRequest][] = [
  ['http://httpbin.org', req('http', 'httpbin.org', 'name', 80)],
  ['http://httpbin.org/get', req('http', 'httpbin.org', 'name', 80, '/get')],
  // Scheme and host are case-insensitive; the path is not.
  ['HTTP://HttpBin.ORG/Get', req('http', 'httpbin.org', 'name', 80, '/Get')],
  ['https://httpbin.org', req('https', 'httpbin.org', 'name', 443)],
  ['https://httpbin.org/ip', req('https', 'httpbin.org', 'name', 443, '/ip')],
  ['https://httpbin.org:8443', req('https', 'httpbin.org', 'name', 8443)],
  ['http://httpbin.org:65535/', req('http', 'httpbin.org', 'name', 65535, '/')],
  ['http://httpbin.org:1', req('http', 'httpbin.org', 'name', 1)],
  ['http://httpbin.org:080', req('http', 'httpbin.org', 'name', 80)],
  // An empty port is the default one (RFC 3986 section 3.2.3).
  ['http://httpbin.org:/x', req('http', 'httpbin.org', 'name', 80, '/x')],
  [
    'http://httpbin.org/get?a=1&b=2',
    req('http', 'httpbin.org', 'name', 80, '/get', [
      ['a', '1'],
      ['b', '2'],
    ]),
  ],
  [
    'http://x.org/?b=2&a=1&b=3',
    req('http', 'x.org', 'name', 80, '/', [
      ['b', '2'],
      ['a', '1'],
      ['b', '3'],
    ]),
  ],
  // Query pairs are form-decoded, as linkerd2-proxy decodes them before matching.
  ['http://x.org?a=x%20y+z', req('http', 'x.org', 'name', 80, '', [['a', 'x y z']])],
  ['http://x.org/?flag', req('http', 'x.org', 'name', 80, '/', [['flag', '']])],
  ['http://x.org/?', req('http', 'x.org', 'name', 80, '/')],
  ['https://x.org/ip?a=1', req('https', 'x.org', 'name', 443, '/ip', [['a', '1']])],
  // The absolute form of a name is the same host (the proxy strips the dot too).
  ['http://example.com./', req('http', 'example.com', 'name', 80, '/')],
  ['http://203.0.113.10/', req('http', '203.0.113.10', 'ipv4', 80, '/')],
  ['http://[2001:DB8:0:0::1]:8080/x', req('http', '2001:db8::1', 'ipv6', 8080, '/x')],
  [
    'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index',
    req('grpc', 'grpcb.in', 'name', 9000, '/grpcbin.GRPCBin/Index'),
  ],
  ['grpc://grpcb.in:9000', req('grpc', 'grpcb.in', 'name', 9000)],
  ['tcp://:5432', req('tcp', '', 'none', 5432)],
  ['tcp://198.51.100.60:5432', req('tcp', '198.51.100.60', 'ipv4', 5432)],
  ['tcp://db.example.com:5432/', req('tcp', 'db.example.com', 'name', 5432)],
  ['tcp://[::1]:5432', req('tcp', '::1', 'ipv6', 5432)],
  // DNS names may hold '_' (Gateway API route hostnames may not: the route builder says so).
  ['http://my_host.internal', req('http', 'my_host.internal', 'name', 80)],
  ['http://xn--bcher-kva.de', req('http', 'xn--bcher-kva.de', 'name', 80)],
  // Paths are kept as written: escapes and dot segments are the route rules' business.
  ['http://x.org/a%2Fb', req('http', 'x.org', 'name', 80, '/a%2Fb')],
  ['http://x.org/a/../b', req('http', 'x.org', 'name', 80, '/a/../b')],
];

/** Accepted as a route destination; refused as a request, which goes to one host. */
const WILDCARDS: [string, ParsedRequest, string][] = [
  [
    'https://*.github.com',
    req('https', '*.github.com', 'wildcard', 443),
    '"https://*.github.com": host "*.github.com" is a wildcard, but a request goes to one host: name it, e.g. https://api.github.com',
  ],
  [
    'http://*.Example.COM/get',
    req('http', '*.example.com', 'wildcard', 80, '/get'),
    '"http://*.Example.COM/get": host "*.example.com" is a wildcard, but a request goes to one host: name it, e.g. http://api.example.com',
  ],
  [
    'tcp://*.db.internal:5432',
    req('tcp', '*.db.internal', 'wildcard', 5432),
    '"tcp://*.db.internal:5432": host "*.db.internal" is a wildcard, but a request goes to one host: name it, e.g. tcp://api.db.internal',
  ],
];

const LONG_LABEL = `http://${'a'.repeat(64)}.org`;
const LONG_NAME = `http://${`${'a'.repeat(60)}.`.repeat(5)}org`;

/** Refused the same way in both modes. */
const REFUSED: [string, string][] = [
  ['ftp://x.org', 'unsupported scheme "ftp" in "ftp://x.org": use http, https, grpc or tcp'],
  ['WS://x', 'unsupported scheme "ws" in "WS://x": use http, https, grpc or tcp'],
  ['http://', '"http://": a http:// URL needs a host, e.g. http://httpbin.org'],
  ['https://:443', '"https://:443": a https:// URL needs a host, e.g. https://httpbin.org'],
  ['grpc://:9000', '"grpc://:9000": a grpc:// URL needs a host, e.g. grpc://grpcb.in:9000'],
  ['grpc://grpcb.in', '"grpc://grpcb.in": a grpc:// URL needs a port, e.g. grpc://grpcb.in:9000'],
  ['tcp://', '"tcp://": a tcp:// URL needs a port, e.g. tcp://:5432'],
  ['tcp://db:', '"tcp://db:": a tcp:// URL needs a port, e.g. tcp://:5432'],
  ['http://x:0', '"http://x:0": port 0 is out of range 1-65535'],
  ['https://x:70000', '"https://x:70000": port 70000 is out of range 1-65535'],
  ['http://x:65536', '"http://x:65536": port 65536 is out of range 1-65535'],
  ['http://x:99999999999', '"http://x:99999999999": port 99999999999 is out of range 1-65535'],
  ['http://x:http', '"http://x:http": port "http" is not a number'],
  ['http://x:-1', '"http://x:-1": port "-1" is not a number'],
  [
    'http://user:pw@x.org',
    '"http://user:pw@x.org": user info ("user:pw@") cannot be matched by any route; drop it',
  ],
  [
    'http://x.org/#top',
    '"http://x.org/#top": a fragment ("#top") is never sent by a client, so nothing can match it; drop it',
  ],
  [
    'http://x.org#',
    '"http://x.org#": a fragment ("#") is never sent by a client, so nothing can match it; drop it',
  ],
  [
    'http://2001:db8::1/',
    '"http://2001:db8::1/": an IPv6 address must be in brackets, e.g. http://[2001:db8::1]',
  ],
  ['http://[2001:db8::1', '"http://[2001:db8::1": host "[2001:db8::1" has no closing "]"'],
  ['http://[zz::1]/', '"http://[zz::1]/": host "[zz::1]" is not an IPv6 address'],
  ['http://[192.0.2.1]/', '"http://[192.0.2.1]/": host "[192.0.2.1]" is not an IPv6 address'],
  ['http://[fe80::1%25eth0]/', '"http://[fe80::1%25eth0]/": host "[fe80::1%25eth0]" is not an IPv6 address'],
  ['http://[::1]x/', '"http://[::1]x/": "x" after the host "[::1]": want [IPv6]:PORT'],
  ['http://256.1.1.1/', '"http://256.1.1.1/": host "256.1.1.1" is not an IPv4 address'],
  ['http://1.2.3/', '"http://1.2.3/": host "1.2.3" is not an IPv4 address'],
  ['http://010.0.0.1/', '"http://010.0.0.1/": host "010.0.0.1" is not an IPv4 address'],
  ['http://a..b/', '"http://a..b/": host "a..b" has an empty label'],
  ['http://.a/', '"http://.a/": host ".a" has an empty label'],
  ['http://x.org../', '"http://x.org../": host "x.org.." has an empty label'],
  ['http://./', '"http://./": host "." is not a host name'],
  [
    'http://-a.org/',
    '"http://-a.org/": host "-a.org": the label "-a" must start and end with a letter or digit',
  ],
  [
    'http://a$b.org/',
    `"http://a$b.org/": host "a$b.org" may contain only letters, digits, '-', '_' and '.' (write an internationalized name in its xn-- form)`,
  ],
  [
    'http://bücher.de/',
    `"http://bücher.de/": host "bücher.de" may contain only letters, digits, '-', '_' and '.' (write an internationalized name in its xn-- form)`,
  ],
  [
    LONG_LABEL,
    `"${LONG_LABEL}": host "${LONG_LABEL.slice(7)}": the label "${'a'.repeat(64)}" is longer than 63 characters`,
  ],
  [
    LONG_NAME,
    `"${LONG_NAME.slice(0, 77)}...": host "${LONG_NAME.slice(7, 84)}..." is longer than 253 characters`,
  ],
  [
    'https://a.*.com',
    '"https://a.*.com": host "a.*.com": a wildcard must be the whole first label, as in *.example.com',
  ],
  [
    'https://*x.com',
    '"https://*x.com": host "*x.com": a wildcard must be the whole first label, as in *.example.com',
  ],
  ['tcp://:5432/x', '"tcp://:5432/x": a tcp:// URL has no path (TCP carries opaque bytes); drop "/x"'],
  ['tcp://:5432?x=1', '"tcp://:5432?x=1": a tcp:// URL has no query; drop "?x=1"'],
  ['grpc://h:9000/s/m?x=1', '"grpc://h:9000/s/m?x=1": a grpc:// URL has no query; drop "?x=1"'],
  ['http://x.org/a%zz', '"http://x.org/a%zz": "%zz" in the path is not a %XX escape'],
  ['http://x.org/?a=%', '"http://x.org/?a=%": "%" in the query is not a %XX escape'],
  ['http://x.org/a b', '"http://x.org/a b": the path holds " ": escape it as %20'],
  ['http://x.org/a\tb', '"http://x.org/a\tb": the path holds "\\t": escape it as %09'],
];

/** A long input is cut in the message, which stays one readable line. */
const LONG_SCHEME = `${'x'.repeat(90)}://h`;
REFUSED.push([
  LONG_SCHEME,
  `unsupported scheme "${'x'.repeat(77)}..." in "${'x'.repeat(77)}...": use http, https, grpc or tcp`,
]);

/** Refused in both modes, each naming the forms it reads. */
const UNREADABLE: [string, { request: string; destination: string }][] = [
  [
    'httpbin.org',
    {
      request:
        'cannot read "httpbin.org" as a request: use http://host[:port][/path][?query], https://host[:port][/path], grpc://host:port[/service/method] or tcp://[host]:port',
      destination:
        'cannot read "httpbin.org" as a destination: use http://host[:port][/path], https://host[:port], grpc://host:port[/service[/method]] or tcp://:port',
    },
  ],
  [
    'https://*',
    {
      request:
        '"https://*": host "*" is a wildcard, but a request goes to one host: name it, e.g. https://api.example.com',
      destination: '"https://*": host "*": a wildcard needs a domain after it, e.g. *.example.com',
    },
  ],
];

const refuses = (fn: () => unknown, message: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidInput, `not an InvalidInput: ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });

describe('the request grammar (net/request.ts)', () => {
  test('reads every form the same way as a request and as a destination', () => {
    for (const [input, want] of ACCEPTED) {
      assert.deepEqual(parseRequest(input, 'request'), want, input);
      assert.deepEqual(parseRequest(input, 'destination'), want, input);
    }
  });
  test('a wildcard host is a destination, never a request', () => {
    for (const [input, want, refusal] of WILDCARDS) {
      assert.deepEqual(parseRequest(input, 'destination'), want, input);
      refuses(() => parseRequest(input, 'request'), refusal);
    }
  });
  test('each refusal is an InvalidInput naming what is wrong, in both modes', () => {
    for (const [input, message] of REFUSED) {
      refuses(() => parseRequest(input, 'request'), message);
      refuses(() => parseRequest(input, 'destination'), message);
    }
    for (const [input, messages] of UNREADABLE) {
      refuses(() => parseRequest(input, 'request'), messages.request);
      refuses(() => parseRequest(input, 'destination'), messages.destination);
    }
  });
  test('parseRequestUrl is the engine’s view of the same grammar', () => {
    assert.deepEqual(parseRequestUrl('tcp://:5432', {}), {
      scheme: 'tcp',
      host: '',
      port: 5432,
      path: '/',
      method: 'GET',
      headers: {},
      query: [],
      ip: undefined,
    });
    // A host-less tcp:// request goes to the address given.
    assert.deepEqual(
      [parseRequestUrl('tcp://:5432', { ip: '198.51.100.60' })].map((r) => [r.host, r.ip]),
      [['198.51.100.60', '198.51.100.60']],
    );
    const r = parseRequestUrl('HTTP://[2001:db8::1]:8080/caf%C3%A9?a=1&a=2&b', { method: 'post' });
    assert.deepEqual(
      [r.scheme, r.host, r.port, r.path, r.method, r.query, r.ip],
      // The path keeps its escapes (the proxy matches it as sent); a repeated parameter keeps every value.
      [
        'http',
        '2001:db8::1',
        8080,
        '/caf%C3%A9',
        'POST',
        [
          ['a', '1'],
          ['a', '2'],
          ['b', ''],
        ],
        '2001:db8::1',
      ],
    );
    refuses(
      () => parseRequestUrl('https://x:70000', {}),
      '"https://x:70000": port 70000 is out of range 1-65535',
    );
  });
  test('the pure folders throw InvalidInput for invalid input', () => {
    refuses(() => parseCidr('10.0.0.1/8'), '"10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)');
    refuses(() => parseCidr('10.0.0.0/33'), '"10.0.0.0/33" is not a CIDR: the prefix length must be 0 to 32');
    refuses(() => parseCidr('banana'), '"banana" is not a CIDR: "banana" is not an IPv4 or IPv6 address');
    refuses(
      () =>
        decide(
          {
            objects: [],
            clusterNetworks: [],
            globalNamespace: 'linkerd-egress',
            clientNamespace: 'default',
            assumeAccepted: true,
          },
          parseRequestUrl('http://x.org', { ip: 'bogus' }),
        ),
      '--ip "bogus" is not an IPv4 or IPv6 address',
    );
  });
});

describe('CLI: allow and check read requests with one grammar', () => {
  test('tcp://:5432 is a destination for allow and a request for check', async () => {
    const allow = await runCli(['egress', 'allow', 'tcp://:5432', '--dry-run=client']);
    assert.equal(allow.stderr, '');
    assert.equal(allow.code, 0);
    assert.match(allow.stdout, /^kind: TCPRoute\n\s*metadata:\n\s*name: tcp-5432\n/m);
    const check = await runCli(['egress', 'check', 'tcp://:5432', '-f', 'examples/guide/']);
    assert.equal(check.stderr, '');
    assert.equal(check.code, 0);
    assert.match(check.stdout, /^yes\n/);
    // In the guide's namespace the Deny network closes it, as it closes tcp://198.51.100.60:5432.
    for (const url of ['tcp://:5432', 'tcp://198.51.100.60:5432']) {
      const denied = await runCli(['egress', 'check', url, '-n', 'egress-test', '-f', 'examples/guide/']);
      assert.equal(denied.stderr, '', url);
      assert.equal(denied.code, 1, url);
      assert.match(denied.stdout, /^no\n[^]*route: {4}default route tcp-egress-deny\n/, url);
    }
  });
  test('?x=1 means the same to both: allow matches it, check matches against it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-request-'));
    try {
      const allow = await runCli(['egress', 'allow', 'http://httpbin.org/get?x=1', '--dry-run=client']);
      assert.equal(allow.stderr, '');
      assert.equal(allow.code, 0);
      assert.match(allow.stdout, /queryParams:\n\s*- type: Exact\n\s*name: x\n\s*value: "1"\n/);
      const deny = await runCli(['egress', 'deny', '--dry-run=client']);
      assert.equal(deny.code, 0, deny.stderr);
      fs.writeFileSync(path.join(dir, 'egress.yaml'), `${deny.stdout}---\n${allow.stdout}`);
      const verdicts: [string, number, RegExp][] = [
        [
          'http://httpbin.org/get?x=1',
          0,
          /^yes\n[^]*route: {4}HTTPRoute default\/http-httpbin-org-get-x-1, rule 1\n/,
        ],
        ['http://httpbin.org/get?y=2&x=1', 0, /^yes\n/],
        ['http://httpbin.org/get?x=2', 1, /^no\n/],
        ['http://httpbin.org/get', 1, /^no\n/],
      ];
      for (const [url, code, out] of verdicts) {
        const r = await runCli(['egress', 'check', url, '-f', dir]);
        assert.equal(r.stderr, '', url);
        assert.equal(r.code, code, url);
        assert.match(r.stdout, out, url);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test('a bad URL gets the same one-line refusal from allow and check, exit 2', async () => {
    const bad: [string, string][] = [
      ['https://x:70000', '"https://x:70000": port 70000 is out of range 1-65535'],
      ['ftp://x', 'unsupported scheme "ftp" in "ftp://x": use http, https, grpc or tcp'],
      ['http://u@x.org/', '"http://u@x.org/": user info ("u@") cannot be matched by any route; drop it'],
      [
        'http://x.org/#a',
        '"http://x.org/#a": a fragment ("#a") is never sent by a client, so nothing can match it; drop it',
      ],
      ['http://[zz::1]/', '"http://[zz::1]/": host "[zz::1]" is not an IPv6 address'],
    ];
    for (const [url, message] of bad) {
      for (const args of [
        ['egress', 'allow', url, '--dry-run=client'],
        ['egress', 'check', url, '-f', 'examples/guide/'],
      ]) {
        const r = await runCli(args);
        assert.deepEqual([r.code, r.stderr, r.stdout], [2, `error: ${message}\n`, ''], args.join(' '));
      }
    }
  });
  // check validate()s --ip before reading any file; the engine refuses it too (unit row above).
  test('check --ip bogus is invalid input: exit 2, one line', async () => {
    const r = await runCli(['egress', 'check', '-f', 'examples/guide/', '--ip', 'bogus', 'http://x.org']);
    assert.deepEqual(
      [r.code, r.stderr, r.stdout],
      [2, 'error: invalid --ip "bogus": want an IPv4 or IPv6 address, e.g. 203.0.113.10\n', ''],
    );
  });
});
