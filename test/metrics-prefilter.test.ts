import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsParseError, parseMetrics, prefilterMetrics, serializeMetrics } from '../src/metrics/parse.js';
import { isEgressFamily } from '../src/metrics/egress.js';
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
