/**
 * The parser reads what Prometheus' text parser reads (prometheus model/textparse/promlex.l and
 * promparse.go, openmetricsparse.go for OpenMetrics HELP), in linear time and bounded memory: each
 * defect of issue 10 reproduced and pinned, the decode cache proven against a cache-free decode, and a
 * bounded fuzz run (bench/parse-fuzz.ts runs it longer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MetricsParseError,
  decodeLabelBlock,
  parseMetrics,
  serializeMetrics,
  type Exposition,
} from '../src/metrics/parse.js';
import { detachExposition } from '../src/metrics/detach.js';
import { EgressModel, deltaExposition, seriesKey } from '../src/metrics/egress.js';
import { obfuscateFamilies } from '../src/metrics/obfuscate.js';
import { fixture } from './helpers/cluster.js';
import { checkOne, fuzzBody } from './helpers/metrics-fuzz.js';

const samples = (e: Exposition) =>
  e.families.flatMap((f) => f.samples.map((s) => [s.name, { ...s.labels }, s.value] as const));

/** The error a body fails with, or undefined when it parses. */
function failure(body: string): MetricsParseError | undefined {
  try {
    parseMetrics(body);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof MetricsParseError, `not a MetricsParseError: ${String(e)}`);
    return e;
  }
}

test('1. a value with escapes does not leak into the next block through the decode cache', () => {
  const e = parseMetrics('x{a="p\\",b=\\"q"} 1\nx{a="p",b="q"} 2\n');
  assert.deepEqual(samples(e), [
    ['x', { a: 'p",b="q' }, 1],
    ['x', { a: 'p', b: 'q' }, 2],
  ]);
});

// Blocks as the wire writes them, from parts that share prefixes, quotes and escapes so that the cache
// is hit, nearly hit, and hit across a closing quote.
const piece = fc.constantFrom('p', 'q', 'a', '"', ',b=', '\\"', '\\\\', '\\n', '\\t', '=', ' ', '}', 'pp');
const wireValue = fc.array(piece, { maxLength: 6 }).map((p) =>
  // Every quote escaped, no dangling backslash: a valid value.
  p.map((x) => (x === '"' ? '\\"' : x)).join(''),
);
const block = fc
  .array(fc.tuple(fc.constantFrom('a', 'b', 'ab', 'a_b', '__proto__'), wireValue, fc.constantFrom('', ' ')), {
    maxLength: 4,
  })
  .map((ls) => ls.map(([n, v, sp]) => `${n}${sp}=${sp}"${v}"`).join(','));

test('property: decoding with the cache equals decoding without it, over any sequence of blocks', () => {
  fc.assert(
    fc.property(fc.array(block, { minLength: 1, maxLength: 8 }), (blocks) => {
      for (const b of blocks) {
        const cached = decodeLabelBlock(b);
        const fresh = decodeLabelBlock(b, false);
        assert.deepEqual(Object.entries(cached), Object.entries(fresh), b);
      }
    }),
    { numRuns: 2000 },
  );
  // And through the parser, where the cache lives across the samples of a body.
  fc.assert(
    fc.property(fc.uniqueArray(block, { minLength: 1, maxLength: 8 }), (blocks) => {
      const e = parseMetrics(blocks.map((b, i) => `x{${b}} ${i}`).join('\n'));
      for (const s of e.families[0]?.samples ?? []) {
        const text = (s as unknown as { labelText: string }).labelText;
        assert.deepEqual(Object.entries(s.labels), Object.entries(decodeLabelBlock(text, false)));
      }
    }),
    { numRuns: 500 },
  );
});

/** Milliseconds `fn` takes. */
const time = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

test('2. a 1 MB malformed line fails at once, with its line number (it took 13 s at 100 KB)', () => {
  for (const [body, re] of [
    [`ok 1\nx{a="b"${' '.repeat(1 << 20)}\n`, /^malformed metrics at line 2: expected , or \} after label a/],
    [`ok 1\nx{a="b${' '.repeat(1 << 20)}\n`, /^malformed metrics at line 2: unterminated value of label a/],
    [`ok 1\nx{a="b",${' ,'.repeat(1 << 19)}\n`, /^malformed metrics at line 2: expected a label name/],
    [`ok 1\nx{a="b"} ${'1'.repeat(1 << 20)}x\n`, /^malformed metrics at line 2: invalid value "1{37}\.\.\."/],
    [`ok 1\n# HELP ${' '.repeat(1 << 20)}\nx{\n`, /^malformed metrics at line 3/],
  ] as const) {
    let err: MetricsParseError | undefined;
    const ms = time(() => (err = failure(body)));
    assert.match(err?.message ?? 'parsed', re);
    assert.ok(ms < 500, `${ms} ms`);
    assert.ok((err?.message.length ?? 0) < 300, 'the message quotes the line shortened');
  }
});

test('3. a label value of 8 Mi characters or more parses (it overflowed the stack)', () => {
  const v = 'v'.repeat(9 << 20);
  const e = parseMetrics(`x{a="${v}",b="\\\\${v}"} 1\n`);
  assert.equal(e.families[0]?.samples[0]?.labels.a?.length, 9 << 20);
  assert.equal(e.families[0]?.samples[0]?.labels.b?.length, (9 << 20) + 1);
  assert.match(failure(`x 1\nx{a="${v}} 1\n`)?.message ?? '', /line 2: unterminated value of label a/);
});

test('4. millions of escapes in one value: linear, and the value costs about its own size', () => {
  const n = 2_000_000;
  const body = `x{a="${'\\\\'.repeat(n)}",b="${'\\n'.repeat(n)}"} 1\n`;
  let labels: Record<string, string> = {};
  const ms = time(() => (labels = { ...parseMetrics(body).families[0]?.samples[0]?.labels }));
  assert.equal(labels.a, '\\'.repeat(n));
  assert.equal(labels.b, '\n'.repeat(n));
  assert.ok(ms < 3000, `${ms} ms`);
  // Memory per shape is measured per process by bench/parse-adversarial.ts.
});

test('5. any label name survives: __proto__, constructor, toString, through detach, obfuscate and delta', () => {
  const body = 'x{__proto__="p",constructor="c",toString="t",hasOwnProperty="h"} 1\n';
  const e = parseMetrics(body);
  const want = [
    ['__proto__', 'p'],
    ['constructor', 'c'],
    ['toString', 't'],
    ['hasOwnProperty', 'h'],
  ];
  for (const x of [e, detachExposition(e), obfuscateFamilies(e), deltaExposition(undefined, e)]) {
    const l = x.families[0]?.samples[0]?.labels as Record<string, string>;
    assert.deepEqual(Object.entries(l), want);
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(l)), null);
  }
  assert.equal(serializeMetrics(detachExposition(e)), body);
  // A label the sample lacks reads as absent, not as Object.prototype's.
  assert.equal('valueOf' in (e.families[0]?.samples[0]?.labels ?? { valueOf: 1 }), false);
  // The egress model's status counts, keyed by label values, too.
  const m = new EgressModel();
  m.add(
    'ns/pod',
    parseMetrics(
      [
        '# TYPE outbound_http_route_request_statuses counter',
        'outbound_http_route_request_statuses_total{parent_kind="EgressNetwork",parent_name="n",parent_namespace="ns",parent_port="80",route_kind="default",route_name="r-egress-allow",hostname="h",http_status="__proto__"} 2',
        'outbound_http_route_request_statuses_total{parent_kind="EgressNetwork",parent_name="n",parent_namespace="ns",parent_port="80",route_kind="default",route_name="r-egress-allow",hostname="h",http_status="constructor"} 3',
        '# EOF',
      ].join('\n'),
    ),
  );
  const row = [...m.rows.values()][0];
  assert.deepEqual(Object.entries(row?.counts.statuses ?? {}), [
    ['__proto__', 2],
    ['constructor', 3],
  ]);
});

test('6. a CR-only body is an error at line 1, not one HELP line; CRLF still parses', () => {
  assert.match(
    failure('# HELP x a\r# TYPE x counter\rx 1\r')?.message ?? '',
    /^malformed metrics at line 1: carriage return without a line feed/,
  );
  assert.match(failure('x 1\ny 1\rz 2\n')?.message ?? '', /line 2: carriage return/);
  assert.deepEqual(samples(parseMetrics('# TYPE x counter\r\nx 1\r\ny{a="b"} 2\r\n')), [
    ['x', {}, 1],
    ['y', { a: 'b' }, 2],
  ]);
});

test('7. escapes: \\\\, \\" and \\n only; \\t stays a backslash and a t; HELP by section', () => {
  const e = parseMetrics('x{a="\\t\\x\\\\t\\n\\"\\u0041"} 1\n');
  assert.equal(e.families[0]?.samples[0]?.labels.a, '\\t\\x\\t\n"\\u0041');
  // Legacy HELP (promparse.go helpReplacer): \\ and \n; OpenMetrics HELP (lvalReplacer): also \".
  const both = parseMetrics(
    [
      '# HELP l a \\\\ b \\n c \\" d \\t',
      '# TYPE l counter',
      'l 1',
      '# HELP o a \\\\ b \\n c \\" d \\t',
      '# TYPE o counter',
      'o_total 1',
      '# EOF',
    ].join('\n'),
  );
  assert.equal(both.openMetricsLine, 4);
  assert.equal(both.families[0]?.help, 'a \\ b \n c \\" d \\t');
  assert.equal(both.families[1]?.help, 'a \\ b \n c " d \\t');
  // Without `# EOF` there is no OpenMetrics section: legacy rules throughout.
  assert.equal(parseMetrics('# HELP o \\"\n# TYPE o counter\no_total 1\n').families[0]?.help, '\\"');
});

test('8. float spellings and blanks that Prometheus accepts, and the ones it refuses', () => {
  const ok: [string, number][] = [
    ['Inf', Infinity],
    ['+Inf', Infinity],
    ['+inf', Infinity],
    ['-inf', -Infinity],
    ['infinity', Infinity],
    ['-Infinity', -Infinity],
    ['NaN', NaN],
    ['nan', NaN],
    ['NAN', NaN],
    ['1e3', 1000],
    ['1E-7', 1e-7],
    ['.5', 0.5],
    ['5.', 5],
    ['+5', 5],
    ['007', 7],
    ['-0', -0],
    ['1e-400', 0],
  ];
  for (const [t, v] of ok)
    assert.ok(Object.is(parseMetrics(`x ${t}\n`).families[0]?.samples[0]?.value, v), t);
  // Go's ParseFloat refuses these (`1e400` is out of range; p, _ and signed NaN are not decimal syntax).
  for (const t of [
    '1e400',
    '-1e400',
    '+nan',
    '-NaN',
    '1_000',
    '0x10',
    '0x1p3',
    '1e',
    'e1',
    '.',
    '',
    'inf1',
    '١',
  ])
    assert.match(failure(`x ${t}\n`)?.message ?? 'parsed', /line 1: (invalid|missing) value/, t);
  // Blanks between any two tokens of a label block, a trailing comma, tabs, no blank after `}`.
  assert.deepEqual(
    samples(
      parseMetrics(
        'x{ a = "1" , b="2" , } 1\ny\t{\ta\t=\t"1"\t}\t2\t3\nz {a="1",} 4\nw{a="1"}5\n  v 6\n\t# TYPE u gauge\nu 7\n',
      ),
    ),
    [
      ['x', { a: '1', b: '2' }, 1],
      ['y', { a: '1' }, 2],
      ['z', { a: '1' }, 4],
      ['w', { a: '1' }, 5],
      ['v', {}, 6],
      ['u', {}, 7],
    ],
  );
  // Label names are [a-zA-Z_][a-zA-Z0-9_]* (promlex.l {L}({L}|{D})*): no colon, unlike metric names.
  assert.match(failure('x{a:b="1"} 1\n')?.message ?? '', /line 1: expected ="…" after label a/);
  assert.equal(parseMetrics('a:b:c 1\n').families[0]?.name, 'a:b:c');
});

test('9. a repeated series keeps its first sample, counted once in duplicates', () => {
  const body = [
    '# TYPE c counter',
    'c{a="1",b="2"} 10',
    'c{a="1",b="2"} 99',
    'c{ a="1", b="2" } 98',
    'c{a="1",b="2",} 97',
    'c{a="x\\ty"} 1',
    'c{a="x\\ty"} 2',
    'c{a="q\\"\\\\"} 1',
    'c{a = "q\\"\\\\"} 2',
    'c 5',
    'c{} 6',
    'c{a="1"} 7',
  ].join('\n');
  const e = parseMetrics(body);
  assert.deepEqual(samples(e), [
    ['c', { a: '1', b: '2' }, 10],
    ['c', { a: 'x\\ty' }, 1],
    ['c', { a: 'q"\\' }, 1],
    ['c', {}, 5],
    ['c', { a: '1' }, 7],
  ]);
  assert.equal(e.duplicates, 6);
  assert.equal(parseMetrics('c 1\n').duplicates, undefined);
  // detach keeps the count (egress stat reads it after detaching nothing: it reads the parse result).
  assert.equal(detachExposition(e).duplicates, 6);
  // deltaExposition(e, e) is zero everywhere, also for an exposition built with a repeated series.
  for (const x of [
    e,
    {
      eof: false,
      families: [
        {
          ...e.families[0]!,
          samples: [...e.families[0]!.samples, { name: 'c', labels: { a: '1', b: '2' }, value: 99 }],
        },
      ],
    },
  ])
    assert.ok(deltaExposition(x, x).families.every((f) => f.samples.every((s) => s.value === 0)));
  // Series identity ignores label order.
  assert.equal(
    seriesKey({ name: 'c', labels: { a: '1', b: '2' }, value: 0 }),
    seriesKey({ name: 'c', labels: { b: '2', a: '1' }, value: 0 }),
  );
});

test("fixtures: no repeated series; the OpenMetrics section starts at prometheus-client's first family", () => {
  for (const name of ['proxy-metrics-egress.txt', 'proxy-metrics-deny.txt']) {
    const body = fixture(name);
    const e = parseMetrics(body);
    assert.equal(e.duplicates, undefined);
    const lines = body.split('\n');
    // The legacy report ends with the stack_* counters; prometheus-client starts with proxy_build_info.
    assert.equal(lines[(e.openMetricsLine as number) - 1], '# HELP proxy_build_info Proxy build info.', name);
    assert.match(lines[(e.openMetricsLine as number) - 2] as string, /^stack_poll_total_ms\{/);
  }
  assert.equal(parseMetrics(fixture('linkerd2_prommatch_sampleMetrics.txt')).openMetricsLine, undefined);
});

test('fuzz (bounded, a few seconds): no uncaught exception, every error carries its line number', () => {
  const t = performance.now();
  fc.assert(
    fc.property(fuzzBody, (b) => checkOne(b)),
    { numRuns: 3000, seed: 10 },
  );
  assert.ok(performance.now() - t < 20_000);
});

test('proxy-metrics --egress/-o json: a pod whose body repeats a series gets one warning, its first samples', async () => {
  const { renderPodMetrics } = await import('../src/render/proxy-metrics.js');
  const metrics = await import('../src/metrics/index.js');
  const r = { namespace: 'ns', pod: 'p', body: 'c{a="1"} 1\nc{a="1"} 2\nc{a="2"} 3\nc{a="2"} 4\n' };
  const out = renderPodMetrics(r, 0, 1, { output: 'json', egress: false, obfuscate: false }, metrics);
  assert.equal(out.warning, 'pod ns/p: 2 repeated series in its metrics; kept the first of each');
  assert.match(out.text, /"value": 1[\s\S]*"value": 3/);
  assert.doesNotMatch(out.text, /"value": [24]/);
  const clean = renderPodMetrics(
    { ...r, body: 'c 1\n' },
    0,
    1,
    { output: 'json', egress: false, obfuscate: false },
    metrics,
  );
  assert.equal(clean.warning, undefined);
});
