import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detachExposition, intern, newInterner } from '../src/metrics/detach.js';
import { isEgressFamily } from '../src/metrics/egress.js';
import { parseMetrics, serializeMetrics, type Exposition } from '../src/metrics/parse.js';
import { fixture } from './helpers/cluster.js';

/** Everything a caller can read from an exposition, as plain data. */
const model = (e: Exposition) => ({
  eof: e.eof,
  families: e.families.map((f) => ({
    name: f.name,
    type: f.type,
    help: f.help,
    unit: f.unit,
    header: f.header,
    samples: f.samples.map((s) => ({
      name: s.name,
      labels: Object.entries(s.labels),
      value: s.value,
      text: s.text,
      timestamp: s.timestamp,
    })),
  })),
});

test('a detached exposition reads and serializes exactly like the parsed one, on every fixture', () => {
  for (const name of [
    'proxy-metrics-egress.txt',
    'proxy-metrics-deny.txt',
    'linkerd2_prommatch_sampleMetrics.txt',
    'linkerd2_obfuscate-diagnostics-proxy-metrics.input.txt',
  ]) {
    const body = fixture(name);
    const parsed = parseMetrics(body);
    const detached = detachExposition(parsed);
    assert.deepEqual(model(detached), model(parsed), name);
    // The fixtures are written canonically, so even the detached samples' text is the same bytes.
    assert.equal(serializeMetrics(detached), serializeMetrics(parsed), name);
    assert.deepEqual(model(parseMetrics(serializeMetrics(detached))), model(parsed), name);
  }
});

test('detaching keeps escapes, special values, timestamps and the EOF marker', () => {
  const body =
    '# HELP x A "help" with \\\\ and \\n.\n# TYPE x gauge\n' +
    'x{a="q\\"uote\\\\back\\nline",b=""} NaN 1700000000000\nx{a="b"} +Inf\nx -Inf\nx{c="d"} 1.0\n# EOF\n';
  const parsed = parseMetrics(body);
  const detached = detachExposition(parsed);
  assert.deepEqual(model(detached), model(parsed));
  assert.deepEqual({ ...detached.families[0]?.samples[0]?.labels }, { a: 'q"uote\\back\nline', b: '' });
  assert.equal(detached.families[0]?.samples[3]?.text, '1.0');
  assert.equal(serializeMetrics(detached), body);
});

test('one interner serves every pod of a scrape: each distinct string is kept once', () => {
  const pool = newInterner();
  const egress = detachExposition(
    parseMetrics(fixture('proxy-metrics-egress.txt'), { keep: isEgressFamily }),
    pool,
  );
  const size = pool.size;
  detachExposition(parseMetrics(fixture('proxy-metrics-egress.txt'), { keep: isEgressFamily }), pool);
  assert.equal(pool.size, size, 'a second pod with the same series adds no strings');
  assert.ok(pool.has('EgressNetwork') && pool.has('parent_kind'));
  assert.equal(intern(pool, 'EgressNetwork'), 'EgressNetwork');
  assert.ok(egress.families.every((f) => f.samples.length === 0 || isEgressFamily(f.name)));
});
