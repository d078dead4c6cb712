/**
 * Every object egressctl generates, checked against the CRDs it is sent to (repo copy `crds/`):
 * the openAPIV3Schema with ajv, and the CRDs' CEL rules (`x-kubernetes-validations`, which ajv cannot
 * run) translated one by one into JavaScript. The API server checks CEL rules on the defaulted object,
 * so the rules run on {@link withDefaults}' output. A CEL rule on a field we generate that has no
 * translation below fails the suite: a CRD update cannot slip a new rule past us.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { route, type Manifest, type RouteOptions } from '../src/manifests/build.js';
import { assertValidForCrd, base, crdSchema, everything, withDefaults } from './helpers/manifests.js';

type Self = Record<string, unknown>;
type Filter = { type?: string; requestRedirect?: { path?: Self }; urlRewrite?: { path?: Self } };
type Rule = { backendRefs?: { filters?: Filter[] }[]; filters?: Filter[]; matches?: { path?: Self }[] };

const has = (o: Self, k: string) => o[k] !== undefined;
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const exactOrPrefix = (p: Self) => p.type === 'Exact' || p.type === 'PathPrefix';
const pathRule = (ok: (v: string) => boolean) => (p: Self) => !exactOrPrefix(p) || ok(String(p.value));

/** Parent identity as the parentRefs rules compare it (an empty namespace, sectionName or port = absent). */
const sameParent = (a: Self, b: Self) =>
  a.group === b.group &&
  a.kind === b.kind &&
  a.name === b.name &&
  (a.namespace || '') === (b.namespace || '');
const sameSection = (a: Self, b: Self) =>
  (a.sectionName || '') === (b.sectionName || '') && (a.port || 0) === (b.port || 0);

/** A rewrite/redirect with ReplacePrefixMatch needs exactly one match, a PathPrefix one. */
const prefixRewrite = (f: Filter | undefined, key: 'requestRedirect' | 'urlRewrite') =>
  f?.[key]?.path?.type === 'ReplacePrefixMatch' && f[key]?.path?.replacePrefixMatch !== undefined;
const onePrefixMatch = (r: Rule) => r.matches?.length === 1 && r.matches[0]?.path?.type === 'PathPrefix';
const exactlyOne = <T>(xs: T[] | undefined, p: (x: T) => boolean) => (xs ?? []).filter(p).length === 1;

/** CEL rule message → the rule in JavaScript (self = the node the rule sits on, defaults applied). */
const CEL: Record<string, (self: never) => boolean> = {
  // spec.parentRefs (every route kind)
  'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent': (
    refs: Self[],
  ) =>
    refs.every((a) =>
      refs.every((b) => !sameParent(a, b) || (!a.sectionName === !b.sectionName && !a.port === !b.port)),
    ),
  'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent': (
    refs: Self[],
  ) => refs.every((a) => refs.filter((b) => sameParent(a, b) && sameSection(a, b)).length === 1),
  // spec.rules[].backendRefs[] (every route kind)
  'Must have port for Service reference': (b: Self) =>
    !(b.group === '' && b.kind === 'Service') || has(b, 'port'),
  // HTTPRoute spec.rules[]
  'RequestRedirect filter must not be used together with backendRefs': (r: Rule) =>
    !r.backendRefs?.length || (r.filters ?? []).every((f) => f.requestRedirect === undefined),
  'When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    (r: Rule) => !exactlyOne(r.filters, (f) => prefixRewrite(f, 'requestRedirect')) || onePrefixMatch(r),
  'When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    (r: Rule) => !exactlyOne(r.filters, (f) => prefixRewrite(f, 'urlRewrite')) || onePrefixMatch(r),
  'Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    (r: Rule) =>
      !exactlyOne(r.backendRefs, (b) => exactlyOne(b.filters, (f) => prefixRewrite(f, 'requestRedirect'))) ||
      onePrefixMatch(r),
  'Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    (r: Rule) =>
      !exactlyOne(r.backendRefs, (b) => exactlyOne(b.filters, (f) => prefixRewrite(f, 'urlRewrite'))) ||
      onePrefixMatch(r),
  // HTTPRoute spec.rules[].matches[].path
  "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']": pathRule(
    (v) => v.startsWith('/'),
  ),
  ...Object.fromEntries(
    ['//', '/./', '/../', '%2f', '%2F', '#'].map((bad) => [
      `must not contain '${bad}' when type one of ['Exact', 'PathPrefix']`,
      pathRule((v) => !v.includes(bad)),
    ]),
  ),
  ...Object.fromEntries(
    ['/..', '/.'].map((bad) => [
      `must not end with '${bad}' when type one of ['Exact', 'PathPrefix']`,
      pathRule((v) => !v.endsWith(bad)),
    ]),
  ),
  "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']": (p: Self) =>
    exactOrPrefix(p) || p.type === 'RegularExpression',
  "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']":
    pathRule((v) => PATH_CHARS.test(v)),
  // GRPCRoute spec.rules[].matches[].method
  "One or both of 'service' or 'method' must be specified": (m: Self) =>
    !has(m, 'type') || has(m, 'service') || has(m, 'method'),
  'service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)': (
    m: Self,
  ) =>
    !((!has(m, 'type') || m.type === 'Exact') && has(m, 'service')) ||
    /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i.test(String(m.service)),
  'method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)': (m: Self) =>
    !((!has(m, 'type') || m.type === 'Exact') && has(m, 'method')) ||
    /^[A-Za-z_][A-Za-z_0-9]*$/.test(String(m.method)),
};

interface Reached {
  message: string;
  rule: string;
  path: string;
  self: unknown;
  object: Manifest;
}

/** Every CEL rule on a node present in `m` (defaulted), with the node it applies to. */
function celRulesOn(m: Manifest): Reached[] {
  const out: Reached[] = [];
  const walk = (schema: Self | undefined, value: unknown, path: string) => {
    if (!schema || value === undefined || value === null) return;
    for (const r of (schema['x-kubernetes-validations'] as { rule: string; message: string }[] | undefined) ??
      [])
      out.push({ message: r.message, rule: r.rule, path, self: value, object: m });
    if (Array.isArray(value)) value.forEach((v, i) => walk(schema.items as Self, v, `${path}[${i}]`));
    else if (typeof value === 'object')
      for (const [k, v] of Object.entries(value as Self))
        walk((schema.properties as Record<string, Self> | undefined)?.[k], v, `${path}.${k}`);
  };
  walk(crdSchema(m), m, '');
  return out;
}

const generated = everything().map(withDefaults);
const reached = generated.flatMap(celRulesOn);

test('every generated object validates against its CRD openAPIV3Schema, as sent and after defaulting', () => {
  for (const m of everything()) assertValidForCrd(m);
  for (const m of generated) assertValidForCrd(m);
  assert.deepEqual([...new Set(everything().map((m) => `${m.apiVersion} ${m.kind}`))].sort(), [
    'gateway.networking.k8s.io/v1 GRPCRoute',
    'gateway.networking.k8s.io/v1 HTTPRoute',
    'gateway.networking.k8s.io/v1alpha2 TCPRoute',
    'gateway.networking.k8s.io/v1alpha2 TLSRoute',
    'policy.linkerd.io/v1alpha1 EgressNetwork',
  ]);
});

test('every CEL rule on a field we generate has a translation here', () => {
  const missing = [
    ...new Set(reached.filter((r) => !(r.message in CEL)).map((r) => `${r.path}: ${r.message}`)),
  ];
  assert.deepEqual(missing, []);
});

/**
 * One test per CEL rule: our output satisfies it; a value that breaks it is caught by the translation
 * (so the translation is not vacuous); and where a flag could produce such a value, the builder refuses
 * that input first, with the flag and the rule.
 */
const http = (o: Partial<RouteOptions>) => () => route({ ...base, type: 'http', name: 'x', port: 80, ...o });
const grpc = (o: Partial<RouteOptions>) => () =>
  route({ ...base, type: 'grpc', name: 'x', port: 9000, ...o });
const path = (value: string, type = 'PathPrefix') => ({ type, value });
const CASES: Record<string, { bad: unknown; refused?: [() => unknown, string] }> = {
  'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent': {
    bad: [
      { group: 'g', kind: 'EgressNetwork', name: 'n', port: 80 },
      { group: 'g', kind: 'EgressNetwork', name: 'n' },
    ],
  },
  'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent': {
    bad: [
      { group: 'g', kind: 'EgressNetwork', name: 'n', port: 80 },
      { group: 'g', kind: 'EgressNetwork', name: 'n', port: 80 },
    ],
  },
  'Must have port for Service reference': {
    bad: { group: '', kind: 'Service', name: 'internal-egress' },
    refused: [
      http({ backend: 'svc/internal-egress' }),
      'invalid --backend "svc/internal-egress": want svc/NAME:PORT (redirect to an in-cluster Service) or egress (on to the original host)',
    ],
  },
  'RequestRedirect filter must not be used together with backendRefs': {
    bad: { backendRefs: [{ name: 's' }], filters: [{ type: 'RequestRedirect', requestRedirect: {} }] },
  },
  'When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    {
      bad: {
        matches: [{ path: path('/a', 'Exact') }],
        filters: [{ requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } }],
      },
    },
  'When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    {
      bad: {
        matches: [{ path: path('/a', 'Exact') }],
        filters: [{ urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } }],
      },
    },
  'Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    {
      bad: {
        matches: [],
        backendRefs: [
          {
            filters: [
              { requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } },
            ],
          },
        ],
      },
    },
  'Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified':
    {
      bad: {
        matches: [],
        backendRefs: [
          { filters: [{ urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } }] },
        ],
      },
    },
  "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']": {
    bad: path('get'),
    refused: [http({ path: 'get' }), 'invalid --path "get": must be an absolute path starting with \'/\''],
  },
  ...Object.fromEntries(
    (
      [
        ['//', '/a//b'],
        ['/./', '/a/./b'],
        ['/../', '/a/../b'],
        ['%2f', '/a%2fb'],
        ['%2F', '/a%2Fb'],
        ['#', '/a#b'],
      ] as const
    ).map(([bad, value]) => [
      `must not contain '${bad}' when type one of ['Exact', 'PathPrefix']`,
      {
        bad: path(value, 'Exact'),
        refused: [
          http({ path: value, pathType: 'Exact' }),
          `invalid --path "${value}": must not contain '${bad}'`,
        ],
      },
    ]),
  ),
  ...Object.fromEntries(
    (
      [
        ['/..', '/a/..'],
        ['/.', '/a/.'],
      ] as const
    ).map(([bad, value]) => [
      `must not end with '${bad}' when type one of ['Exact', 'PathPrefix']`,
      {
        bad: path(value),
        refused: [http({ path: value }), `invalid --path "${value}": must not end with '${bad}'`],
      },
    ]),
  ),
  "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']": {
    bad: path('/a', 'Glob'),
    refused: [
      http({ path: '/a', pathType: 'Glob' as 'Exact' }),
      'invalid --path-type "Glob": must be one of Exact, PathPrefix, RegularExpression',
    ],
  },
  "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']":
    {
      bad: path('/a b'),
      refused: [
        http({ path: '/a b' }),
        'invalid --path "/a b": may contain only URL path characters (letters, digits, -/._~!$&\'()*+,;=:@ and %XX escapes)',
      ],
    },
  "One or both of 'service' or 'method' must be specified": {
    bad: { type: 'Exact' },
    refused: [
      grpc({ method: '/' }),
      'invalid --method "/": want SERVICE[/METHOD], e.g. grpcbin.GRPCBin/Index',
    ],
  },
  'service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)': {
    bad: { type: 'Exact', service: '1grpcbin.GRPCBin' },
    refused: [
      grpc({ method: '1grpcbin.GRPCBin' }),
      'invalid --method "1grpcbin.GRPCBin": the service must be a dotted gRPC service name',
    ],
  },
  'method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)': {
    bad: { type: 'Exact', method: 'Get-Index' },
    refused: [
      grpc({ method: 'grpcbin.GRPCBin/Get-Index' }),
      'invalid --method "grpcbin.GRPCBin/Get-Index": the method must be a gRPC method name',
    ],
  },
};

describe('CEL rules on the fields we generate', () => {
  const messages = [...new Set(reached.map((r) => r.message))];
  test('the rules reached are exactly the ones with cases', () => {
    assert.deepEqual(messages.sort(), Object.keys(CASES).sort());
  });
  for (const message of messages) {
    test(message, () => {
      const rule = CEL[message] as ((self: unknown) => boolean) | undefined;
      assert.ok(rule, 'no translation');
      for (const r of reached.filter((x) => x.message === message))
        assert.ok(rule(r.self), `${r.object.kind} ${r.object.metadata.name} ${r.path} breaks: ${r.rule}`);
      const c = CASES[message];
      assert.ok(c, 'no case');
      assert.equal(rule(c.bad), false, 'the translation accepts a value the rule refuses');
      if (c.refused) assert.throws(c.refused[0], { name: 'UsageError', message: c.refused[1] });
    });
  }
});

test('Linkerd admission rules the CRDs do not express', () => {
  for (const m of generated) {
    const spec = m.spec as { parentRefs?: Self[]; rules?: unknown[] };
    if (m.kind === 'EgressNetwork') {
      // "networks: []" is refused by Linkerd's admission: we omit networks instead.
      assert.notDeepEqual((m.spec as Self).networks, []);
      continue;
    }
    // "cannot target an EgressNetwork without specifying a port"; group is required to name the kind.
    assert.deepEqual(
      spec.parentRefs?.map((p) => [p.group, p.kind, typeof p.port]),
      [['policy.linkerd.io', 'EgressNetwork', 'number']],
      m.metadata.name,
    );
    // TLSRoute and TCPRoute: exactly one rule.
    if (m.kind === 'TLSRoute' || m.kind === 'TCPRoute') assert.equal(spec.rules?.length, 1, m.metadata.name);
  }
});
