import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsParseError, parseMetrics, prefilterMetrics, serializeMetrics } from '../src/metrics/parse.js';
import { isEgressFamily } from '../src/metrics/egress.js';
import fc from 'fast-check';
import { fixture } from './helpers/cluster.js';

const keep = isEgressFamily;
/** What a caller of `parseMetrics(…, { keep })` reads: the kept families. */
const kept = (text: string): string => {
  const e = parseMetrics(text, { keep });
  return serializeMetrics({ ...e, families: e.families.filter((f) => keep(f.name)) });
};
const errorOf = (f: () => unknown): { line: number; message: string } | undefined => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MetricsParseError);
    return { line: e.line, message: e.message };
  }
  return undefined;
};

test('prefilter: the kept families of every proxy fixture parse as from the whole body', () => {
  for (const name of [
    'proxy-metrics-egress.txt',
    'proxy-metrics-deny.txt',
    'linkerd2_obfuscate-diagnostics-proxy-metrics.input.txt',
    'linkerd2_prommatch_sampleMetrics.txt',
  ]) {
    const body = fixture(name);
    const filtered = prefilterMetrics(Buffer.from(body), keep);
    assert.equal(kept(filtered), kept(body), name);
    // One line out per line in: error line numbers are the body's.
    assert.equal(filtered.split('\n').length, body.split('\n').length, name);
  }
  const egress = fixture('proxy-metrics-egress.txt');
  assert.ok(prefilterMetrics(Buffer.from(egress), keep).length < egress.length / 4);
});

test('prefilter: blanks only lines of skipped families, keeping UTF-8, a BOM and the last line', () => {
  const body = [
    '\uFEFF# HELP other_total Other.',
    '# TYPE other_total counter',
    'other_total{a="ü"} 1',
    '# HELP outbound_tcp_route_open_total Opened: ü.',
    '# TYPE outbound_tcp_route_open counter',
    'outbound_tcp_route_open_total{parent_kind="EgressNetwork",x="é"} 2',
    'process_cpu_seconds_total 3',
  ].join('\n');
  assert.equal(
    prefilterMetrics(Buffer.from(body), keep),
    [
      '\uFEFF# HELP other_total Other.',
      '',
      '',
      '# HELP outbound_tcp_route_open_total Opened: ü.',
      '# TYPE outbound_tcp_route_open counter',
      'outbound_tcp_route_open_total{parent_kind="EgressNetwork",x="é"} 2',
      '',
    ].join('\n'),
  );
});

test('prefilter: every error the parser reports on the whole body, at the same line', () => {
  const good = '# TYPE outbound_tcp_route_open counter\noutbound_tcp_route_open_total{a="1"} 2\n';
  for (const bad of [
    'other_total 1\r2',
    'other_total{a="\r"} 1',
    '# TYPE other_total\rcounter',
    '# TYPE other_total countr',
    '# HELP 9other Bad name.',
    '9other 1',
    '{a="1"} 1',
    '-1',
  ]) {
    const body = `other_total 1\n${good}${bad}\n${good}`;
    const whole = errorOf(() => parseMetrics(body, { keep }));
    assert.ok(whole, `the parser rejects ${JSON.stringify(bad)}`);
    assert.deepEqual(
      errorOf(() => parseMetrics(prefilterMetrics(Buffer.from(body), keep), { keep })),
      whole,
      JSON.stringify(bad),
    );
  }
});

/**
 * The rule the prefilter documents, line by line with regular expressions (slow and plain): which
 * lines are blanked. The prefilter itself decides on bytes and keeps decisions across bodies.
 */
function blankedByRule(line: string, keep: (family: string) => boolean): boolean {
  const kept = (name: string) =>
    keep(name) ||
    ['_total', '_created', '_bucket', '_sum', '_count', '_gsum', '_gcount', '_info'].some(
      (x) => name.endsWith(x) && keep(name.slice(0, -x.length)),
    );
  if (line.includes('\r')) return false;
  const header = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/s.exec(line);
  if (header) {
    const [, kind, name, rest = ''] = header as unknown as [string, string, string, string | undefined];
    if (kind === 'TYPE' && !TYPES.includes(rest)) return false;
    return !kept(name);
  }
  const sample = /^[ \t]*([a-zA-Z_:][a-zA-Z0-9_:]*)[{ \t]/.exec(line);
  return sample ? !kept(sample[1] as string) : false;
}
const TYPES = [
  'counter',
  'gauge',
  'histogram',
  'summary',
  'untyped',
  'unknown',
  'info',
  'stateset',
  'gaugehistogram',
];

test('prefilter: blanks exactly the lines its rule names, on lines mixed from the fixtures and near-misses', () => {
  const lines = ['proxy-metrics-egress.txt', 'linkerd2_prommatch_sampleMetrics.txt'].flatMap((f) =>
    fixture(f).split('\n'),
  );
  const nearMisses = [
    '# HELP ',
    '# HELP other_total\tx',
    '# HELP other{ x',
    '#  HELP other x',
    ' # HELP other x',
    '# HELP 9x y',
    '# TYPE other_total countr',
    '# TYPE other_total',
    '# TYPE outbound_tcp_route_open\tcounter',
    '# TYPE outbound_tcp_route_open counter',
    '# TYPE outbound_tcp_route_open_total counter',
    '# HELP outbound_tcp_route_open ü',
    'other 1',
    'other\t1',
    ' other 1',
    'other',
    'other_total{',
    'outbound_tcp_route_open_total{a="ü"} 1',
    'outbound_http_route_request_statuses 1',
    'ü 1',
    'x\r',
    '',
    ' ',
  ];
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(...lines), fc.constantFrom(...nearMisses)), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.boolean(),
      (body, trailing) => {
        const text = body.join('\n') + (trailing ? '\n' : '');
        // Each blanked line leaves its \n (line numbers stay the body's); a last one without, nothing.
        const want = body
          .map((l, i) => (blankedByRule(l, keep) ? '' : l) + (i < body.length - 1 || trailing ? '\n' : ''))
          .join('');
        assert.equal(prefilterMetrics(Buffer.from(text), keep), want);
      },
    ),
    { numRuns: 2000 },
  );
});
