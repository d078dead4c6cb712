import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { detachExposition } from '../src/metrics/detach.js';
import { parseMetrics, serializeMetrics, type Exposition } from '../src/metrics/parse.js';

/**
 * Property: a generated linkerd2-proxy-shaped body (a legacy section, then an OpenMetrics section with
 * `# UNIT` and `# EOF`) parses to the model it was generated from, whatever the line endings, blank
 * lines, `linkerd diagnostics` header, trailing newline, escapes, special values and timestamps; and
 * both serializers (verbatim for parsed samples, canonical for detached ones) write text that parses
 * back to the same model.
 */

interface ModelSample {
  name: string;
  labels: [string, string][];
  value: number;
  timestamp: string | undefined;
}
interface ModelFamily {
  name: string;
  type: string;
  help: string | undefined;
  unit: string | undefined;
  samples: ModelSample[];
}

const modelOf = (e: Exposition): ModelFamily[] =>
  e.families.map((f) => ({
    name: f.name,
    type: f.type,
    help: f.help,
    unit: f.unit,
    samples: f.samples.map((s) => ({
      name: s.name,
      labels: Object.entries(s.labels),
      value: s.value,
      timestamp: s.timestamp,
    })),
  }));

const escLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const num = (v: number) =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

// Family bases without "_", so no generated family name can be another's plus a suffix (`x` + `_total`).
const base = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const ident = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/);
// Any text, including quotes, backslashes, newlines, braces, commas and non-ASCII; no CR (a CR before
// the line end is the CRLF line ending, and the proxy never writes one inside a value).
const text = fc.string({ unit: 'grapheme', maxLength: 10 }).map((s) => s.replace(/\r/g, ''));
const labels = fc.uniqueArray(
  fc.tuple(
    ident.filter((n) => n !== 'le'),
    text,
  ),
  { maxLength: 4, selector: (t) => t[0] },
);
// -0 is written as 0, so it cannot come back as -0.
const value = fc
  .oneof(fc.nat(), fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 1e-7, 0.5))
  .map((v) => (Object.is(v, -0) ? 0 : v));
const timestamp = fc.option(fc.constantFrom('1700000000000', '-5', '1700000000.125'), { nil: undefined });

const family = fc.record({
  base,
  type: fc.constantFrom('counter', 'gauge', 'histogram'),
  help: fc.option(text, { nil: undefined }),
  unit: fc.option(fc.constantFrom('seconds', 'bytes'), { nil: undefined }),
  // Distinct label sets: a repeated series keeps only its first sample (tested on its own).
  series: fc.uniqueArray(fc.tuple(labels, value, timestamp), {
    minLength: 1,
    maxLength: 3,
    selector: ([l]) => JSON.stringify([...l].sort()),
  }),
});

type Gen = typeof family extends fc.Arbitrary<infer T> ? T : never;

/** The lines of one family and its model, in the legacy or the OpenMetrics layout. */
function render(g: Gen, om: boolean): { lines: string[]; model: ModelFamily } {
  const lines: string[] = [];
  const name =
    (om ? 'om_' : 'legacy_') +
    g.base +
    (om && g.unit && g.type !== 'counter' ? `_${g.unit}` : '') +
    (!om && g.type === 'counter' ? '_total' : '');
  if (g.help !== undefined) lines.push(`# HELP ${name} ${escHelp(g.help)}`);
  lines.push(`# TYPE ${name} ${g.type}`);
  const unit = om && g.unit && g.type !== 'counter' ? g.unit : undefined;
  if (unit) lines.push(`# UNIT ${name} ${unit}`);
  const samples: ModelSample[] = [];
  const push = (n: string, l: [string, string][], v: number, ts?: string) => {
    const block = l.length ? `{${l.map(([k, x]) => `${k}="${escLabel(x)}"`).join(',')}}` : '';
    lines.push(`${n}${block} ${num(v)}${ts === undefined ? '' : ` ${ts}`}`);
    samples.push({ name: n, labels: l, value: v, timestamp: ts });
  };
  for (const [l, v, ts] of g.series) {
    if (g.type === 'histogram') {
      // OpenMetrics: _sum, _count, then buckets with le="1.0"; legacy: buckets with le="1", _count, _sum.
      const sum = Number.isFinite(v) ? v : 0;
      const buckets = () => {
        push(`${name}_bucket`, [...l, ['le', om ? '1.0' : '1']], 1);
        push(`${name}_bucket`, [...l, ['le', '+Inf']], 2);
      };
      if (om) {
        push(`${name}_sum`, l, sum);
        push(`${name}_count`, l, 2);
        buckets();
      } else {
        buckets();
        push(`${name}_count`, l, 2);
        push(`${name}_sum`, l, sum);
      }
    } else push(om && g.type === 'counter' ? `${name}_total` : name, l, v, ts);
  }
  return { lines, model: { name, type: g.type, help: g.help, unit, samples } };
}

test('property: generated two-section bodies parse to their model and round-trip through both serializers', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(family, { maxLength: 4, selector: (f) => f.base }),
      fc.uniqueArray(family, { maxLength: 4, selector: (f) => f.base }),
      fc.record({
        crlf: fc.boolean(),
        blankLines: fc.boolean(),
        podHeader: fc.boolean(),
        eof: fc.boolean(),
        trailingNewline: fc.boolean(),
      }),
      (legacy, om, o) => {
        const canonical: string[] = [];
        const model: ModelFamily[] = [];
        const wire: string[] = o.podHeader ? ['#', '# POD egress-client-7d9c (1 of 2)', '#'] : [];
        for (const [gens, isOm] of [
          [legacy, false],
          [om, true],
        ] as const) {
          for (const g of gens) {
            const r = render(g, isOm);
            canonical.push(...r.lines);
            wire.push(...r.lines);
            if (o.blankLines) wire.push('');
            model.push(r.model);
          }
        }
        if (o.eof) {
          canonical.push('# EOF');
          wire.push('# EOF');
        }
        const body =
          wire.join(o.crlf ? '\r\n' : '\n') +
          (o.trailingNewline && wire.length ? (o.crlf ? '\r\n' : '\n') : '');
        const parsed = parseMetrics(body);
        assert.deepEqual(modelOf(parsed), model);
        assert.equal(parsed.eof, o.eof);
        // Parsed samples are written back verbatim: the canonical text, byte for byte.
        const out = serializeMetrics(parsed);
        assert.equal(out, canonical.length ? `${canonical.join('\n')}\n` : '');
        assert.deepEqual(modelOf(parseMetrics(out)), model);
        // Detached samples are written from their labels: escaped again, and still the same model.
        const detached = serializeMetrics(detachExposition(parsed));
        assert.deepEqual(modelOf(parseMetrics(detached)), model);
        assert.equal(parseMetrics(detached).eof, o.eof);
      },
    ),
    // A fixed seed keeps CI deterministic; change it locally to explore further.
    { numRuns: 400, seed: 20261128 },
  );
});

test('HELP text may hold U+2028 and U+2029 (the property test found these lines were dropped)', () => {
  const e = parseMetrics('# HELP x a\u2028b\u2029c\n# TYPE x gauge\nx 1\n');
  assert.equal(e.families[0]?.help, 'a\u2028b\u2029c');
  assert.equal(e.families.length, 1);
});
