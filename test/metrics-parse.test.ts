import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { MetricsParseError, parseMetrics, serializeMetrics, type Exposition } from '../src/metrics/parse.js';
import { egressOnly, mayHoldEgress } from '../src/metrics/filter.js';
import { obfuscateText } from '../src/metrics/obfuscate.js';
import { fixture } from './helpers/cluster.js';

const EGRESS = fixture('proxy-metrics-egress.txt');
const DENY = fixture('proxy-metrics-deny.txt');
const samples = (e: Exposition) => e.families.reduce((n, f) => n + f.samples.length, 0);
const fam = (e: Exposition, name: string) => e.families.find((f) => f.name === name);

test('every fixture: families, samples and egress series counted exactly, and round-tripped byte for byte', () => {
  for (const [body, typed, total, egressStatuses] of [
    [EGRESS, 131, 1273, 7],
    [DENY, 131, 1365, 10],
  ] as const) {
    const e = parseMetrics(body);
    assert.equal(e.families.filter((f) => f.header.some((h) => h.startsWith('# TYPE'))).length, typed);
    assert.equal(samples(e), total);
    assert.equal(e.eof, true);
    const st = fam(e, 'outbound_http_route_request_statuses');
    assert.equal(st?.type, 'counter');
    assert.equal(st?.samples.filter((s) => s.labels.parent_kind === 'EgressNetwork').length, egressStatuses);
    assert.equal(serializeMetrics(e), body);
  }
  const real = parseMetrics(fixture('linkerd2_prommatch_sampleMetrics.txt'));
  assert.equal(real.families.length, 28);
  assert.equal(samples(real), 199);
  assert.equal(real.eof, false);
  const obf = parseMetrics(fixture('linkerd2_obfuscate-diagnostics-proxy-metrics.input.txt'));
  assert.equal(samples(obf), 4);
});

test('OpenMetrics counters group with their _total samples; legacy counters keep _total on TYPE', () => {
  const e = parseMetrics(EGRESS);
  const om = fam(e, 'outbound_tls_route_close');
  assert.equal(om?.type, 'counter');
  assert.ok(
    om && om.samples.length > 0 && om.samples.every((s) => s.name === 'outbound_tls_route_close_total'),
  );
  const legacy = fam(e, 'request_total');
  assert.equal(legacy?.type, 'counter');
  assert.ok(legacy?.samples.every((s) => s.name === 'request_total'));
  assert.equal(fam(e, 'outbound_tls_route_close_total'), undefined, 'no untyped _total twin');
});

test('labelled histograms keep every series with labels, _sum, _count and both le styles', () => {
  const e = parseMetrics(EGRESS);
  const om = fam(e, 'outbound_http_route_request_duration_seconds');
  assert.equal(om?.type, 'histogram');
  assert.equal(om?.unit, 'seconds');
  const les = new Set(om?.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.labels.le));
  assert.deepEqual([...les], ['0.05', '0.5', '1.0', '10.0', '+Inf']);
  const series = new Set(
    om?.samples.filter((s) => s.name.endsWith('_sum')).map((s) => JSON.stringify(s.labels)),
  );
  assert.ok(series.size > 3);
  assert.equal(om?.samples.filter((s) => s.name.endsWith('_count')).length, series.size);
  const legacy = fam(e, 'response_latency_ms');
  assert.ok(legacy?.samples.some((s) => s.labels.le === '1'));
  assert.equal(
    legacy?.samples.at(-1)?.name,
    'response_latency_ms_sum',
    'legacy order: buckets, _count, _sum',
  );
});

test('edge cases: UNIT, EOF, linkerd # POD headers, escapes, NaN/±Inf, timestamps, CRLF, no final newline', () => {
  const body = [
    '#',
    '# POD client (1 of 1)',
    '#',
    '# HELP x_seconds A "help" with \\\\ and \\n.',
    '# TYPE x_seconds histogram',
    '# UNIT x_seconds seconds',
    'x_seconds_sum{a="q\\"uote\\\\back\\nline",b="} , {"} 1.5',
    'x_seconds_count{a="q\\"uote\\\\back\\nline",b="} , {"} 2',
    'x_seconds_bucket{a="q\\"uote\\\\back\\nline",b="} , {",le="1"} 1',
    'x_seconds_bucket{a="q\\"uote\\\\back\\nline",b="} , {",le="+Inf"} 2',
    '# TYPE g gauge',
    'g{k="v"} NaN 1700000000000',
    'g{k="w"} +Inf',
    'g{k="z"} -Inf',
    'g 1e-7',
    'untyped_thing 3',
    '# EOF',
  ].join('\r\n');
  const e = parseMetrics(body);
  const h = fam(e, 'x_seconds');
  assert.equal(h?.unit, 'seconds');
  assert.equal(h?.help, 'A "help" with \\ and \n.');
  assert.deepEqual({ ...h?.samples[0]?.labels }, { a: 'q"uote\\back\nline', b: '} , {' });
  const g = fam(e, 'g');
  assert.ok(Number.isNaN(g?.samples[0]?.value));
  assert.equal(g?.samples[0]?.timestamp, '1700000000000');
  assert.equal(g?.samples[1]?.value, Infinity);
  assert.equal(g?.samples[2]?.value, -Infinity);
  assert.equal(g?.samples[3]?.value, 1e-7);
  assert.equal(fam(e, 'untyped_thing')?.type, 'untyped');
  assert.equal(e.eof, true);
  // No trailing newline: the last sample is kept.
  assert.equal(parseMetrics('# TYPE c counter\nc_total 1\nc_total{x="y"} 2').families[0]?.samples.length, 2);
});

test('malformed lines fail with the line number and the reason', () => {
  const cases: [string, RegExp][] = [
    ['a 1\nb{x="1"} \n', /line 2: missing value|line 2: invalid value ""/],
    ['# TYPE a counter\na_total{x="1} 3\n', /line 2: unterminated value of label x/],
    ['a{x=1} 3\n', /line 1: expected ="…" after label x/],
    ['a 1\n\nb one\n', /line 3: invalid value "one"/],
    ['# TYPE a bogus\n', /line 1: unknown metric type "bogus"/],
    ['9a 1\n', /line 1: expected a metric name/],
    ['a{x="1"y="2"} 1\n', /line 1: expected , or } after label x/],
  ];
  for (const [body, re] of cases) {
    assert.throws(
      () => parseMetrics(body),
      (err: unknown) => err instanceof MetricsParseError && re.test(err.message),
      body,
    );
  }
});

test('the egress filter keeps EgressNetwork samples with their descriptor lines', () => {
  const e = egressOnly(parseMetrics(DENY, { keep: mayHoldEgress }));
  assert.ok(
    e.families.every(
      (f) =>
        f.name.startsWith('outbound_') && f.samples.every((s) => s.labels.parent_kind === 'EgressNetwork'),
    ),
  );
  const text = serializeMetrics(e);
  assert.equal(
    text.split('\n').filter((l) => l && !l.startsWith('#')).length,
    DENY.split('\n').filter((l) => l.includes('parent_kind="EgressNetwork"')).length,
  );
  assert.ok(text.endsWith('# EOF\n'));
});

test('obfuscation matches linkerd for its own labels and also hides target_ip', () => {
  const input = fixture('linkerd2_obfuscate-diagnostics-proxy-metrics.input.txt');
  const golden = fixture('linkerd2_obfuscate-diagnostics-proxy-metrics.golden.txt');
  const ours = obfuscateText(input);
  const linkerdLabels = (t: string) => t.replace(/target_ip="[^"]*"/g, 'target_ip=_');
  assert.equal(linkerdLabels(ours), linkerdLabels(golden));
  assert.doesNotMatch(ours, /10\.42\.0\.63/);
  assert.match(ours, /target_ip="[0-9a-f]{8}"/);
});

test('parse-prometheus-text-format gets these bodies wrong in three ways (why egressctl has its own parser)', () => {
  const require = createRequire(import.meta.url);
  const pptf = require('parse-prometheus-text-format') as (t: string) => {
    name: string;
    type: string;
    metrics: {
      labels?: Record<string, string>;
      buckets?: unknown;
      sum?: string;
      count?: string;
      value?: string;
    }[];
  }[];
  const out = pptf(EGRESS);
  // 1. An OpenMetrics counter becomes an empty COUNTER family plus an UNTYPED _total family.
  assert.deepEqual(out.find((f) => f.name === 'outbound_tls_route_close')?.metrics, []);
  assert.equal(out.find((f) => f.name === 'outbound_tls_route_close_total')?.type, 'UNTYPED');
  // 2. A labelled histogram collapses into one series without labels, _sum or _count.
  const h = out.find((f) => f.name === 'outbound_http_route_request_duration_seconds');
  assert.equal(h?.metrics.length, 1);
  assert.equal(h?.metrics[0]?.labels, undefined);
  assert.equal(h?.metrics[0]?.sum, undefined);
  // 3. Without a trailing newline, the last sample is dropped.
  const two = pptf('# TYPE c counter\nc{x="a"} 1\nc{x="b"} 2');
  assert.equal(two[0]?.metrics.length, 1);
  assert.equal(parseMetrics('# TYPE c counter\nc{x="a"} 1\nc{x="b"} 2').families[0]?.samples.length, 2);
});

// ── property: generated expositions round-trip through serialize → parse ──
const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/);
const labelValue = fc.string({ maxLength: 12 }).map((s) => s.replace(/\r/g, ''));
const labels = fc
  .uniqueArray(
    fc.tuple(
      name.filter((n) => n !== 'le'),
      labelValue,
    ),
    { maxLength: 4, selector: (t) => t[0] },
  )
  .map((pairs) => Object.fromEntries(pairs));
// -0 prints as 0 on the wire, so it cannot round-trip as -0.
const value = fc
  .oneof(
    fc.integer({ min: 0, max: 1e9 }),
    fc.double({ noNaN: false }),
    fc.constantFrom(Infinity, -Infinity, NaN),
  )
  .map((v) => (Object.is(v, -0) ? 0 : v));

const family = fc
  .record({
    base: name,
    kind: fc.constantFrom('counter-om', 'counter-legacy', 'gauge', 'histogram-om', 'histogram-legacy'),
    // Distinct label sets: a repeated series keeps only its first sample (tested on its own).
    series: fc.uniqueArray(fc.tuple(labels, value), {
      minLength: 1,
      maxLength: 3,
      selector: ([l]) => JSON.stringify(Object.entries(l).sort()),
    }),
  })
  .map(({ base, kind, series }) => ({ base: `m_${base}`, kind, series }));

test('property: any exposition in either format round-trips exactly', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(family, { minLength: 1, maxLength: 5, selector: (f) => f.base }),
      fc.boolean(),
      fc.boolean(),
      (fams, eof, trailingNewline) => {
        const lines: string[] = [];
        const expected: {
          name: string;
          type: string;
          samples: { name: string; labels: Record<string, string>; value: number }[];
        }[] = [];
        const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
        const lbl = (l: Record<string, string>) =>
          Object.keys(l).length
            ? `{${Object.entries(l)
                .map(([k, v]) => `${k}="${esc(v)}"`)
                .join(',')}}`
            : '';
        const num = (v: number) =>
          Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
        for (const f of fams) {
          const om = f.kind.endsWith('-om');
          const type = f.kind.split('-')[0] as string;
          const fname = f.kind === 'counter-legacy' ? `${f.base}_total` : f.base;
          lines.push(`# HELP ${fname} help for ${f.base}${om ? '.' : ''}`, `# TYPE ${fname} ${type}`);
          const fs: { name: string; labels: Record<string, string>; value: number }[] = [];
          for (const [l, v] of f.series) {
            if (type === 'histogram') {
              const parts: [string, Record<string, string>, number][] = [
                [`${fname}_bucket`, { ...l, le: om ? '1.0' : '1' }, 1],
                [`${fname}_bucket`, { ...l, le: '+Inf' }, 2],
                [`${fname}_count`, l, 2],
                [`${fname}_sum`, l, Number.isFinite(v) ? v : 0],
              ];
              if (om)
                parts.unshift(
                  parts.pop() as [string, Record<string, string>, number],
                  parts.pop() as [string, Record<string, string>, number],
                );
              for (const [n, ll, vv] of parts) {
                lines.push(`${n}${lbl(ll)} ${num(vv)}`);
                fs.push({ name: n, labels: ll, value: vv });
              }
            } else {
              const n = f.kind === 'counter-om' ? `${fname}_total` : fname;
              lines.push(`${n}${lbl(l)} ${num(v)}`);
              fs.push({ name: n, labels: l, value: v });
            }
          }
          expected.push({ name: fname, type, samples: fs });
        }
        if (eof) lines.push('# EOF');
        const text = lines.join('\n') + (trailingNewline ? '\n' : '');
        const parsed = parseMetrics(text);
        assert.deepEqual(
          parsed.families.map((f) => ({
            name: f.name,
            type: f.type,
            samples: f.samples.map((s) => ({ name: s.name, labels: { ...s.labels }, value: s.value })),
          })),
          expected,
        );
        assert.equal(parsed.eof, eof);
        assert.equal(serializeMetrics(parsed), `${lines.join('\n')}\n`);
        assert.deepEqual(parseMetrics(serializeMetrics(parsed)), parsed);
      },
    ),
    { numRuns: 300 },
  );
});
