/**
 * The parser fuzz: bodies of any text and mutations of a real body, and what must hold for each. Shared
 * by the bounded run in test/metrics-prometheus.test.ts and the long one in bench/parse-fuzz.ts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MetricsParseError,
  parseMetrics,
  serializeMetrics,
  type Exposition,
} from '../../src/metrics/parse.js';
import { detachExposition } from '../../src/metrics/detach.js';
import { fixture } from './cluster.js';

const samples = (e: Exposition) =>
  e.families.flatMap((f) => f.samples.map((s) => [s.name, { ...s.labels }, s.value] as const));

const EGRESS = fixture('proxy-metrics-egress.txt');
const alphabet = fc.constantFrom(
  'x',
  'a',
  '{',
  '}',
  '"',
  '\\',
  '=',
  ',',
  ' ',
  '\t',
  '\n',
  '\r',
  '#',
  '1',
  '.',
  'e',
  '+',
  '-',
  'I',
  'n',
  'N',
  '_',
  ':',
  'é',
);
export const fuzzBody = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.array(alphabet, { maxLength: 200 }).map((a) => a.join('')),
  // A slice of a real body with a few characters replaced, inserted or removed.
  fc
    .tuple(
      fc.nat(EGRESS.length - 2000),
      fc.array(fc.tuple(fc.nat(1999), alphabet, fc.constantFrom('set', 'insert', 'delete')), {
        maxLength: 4,
      }),
    )
    .map(([at, edits]) => {
      const s = EGRESS.slice(at, at + 2000).split('');
      for (const [i, c, op] of edits) {
        if (op === 'set') s[i] = c;
        else if (op === 'insert') s.splice(i, 0, c);
        else s.splice(i, 1);
      }
      return s.join('');
    }),
);

/** What the fuzz asserts: a parse, or a MetricsParseError whose line number points into the body. */
export function checkOne(body: string): void {
  let e: Exposition;
  try {
    e = parseMetrics(body);
  } catch (err) {
    assert.ok(err instanceof MetricsParseError, `uncaught ${String(err)}`);
    const lines = body.split('\n').length;
    assert.ok(err.line >= 1 && err.line <= lines, `line ${err.line} of ${lines}`);
    assert.match(err.message, new RegExp(`^malformed metrics at line ${err.line}: `));
    return;
  }
  // Every label can be read, and what was parsed serializes to a body that parses to the same samples.
  const got = samples(e);
  assert.deepEqual(samples(parseMetrics(serializeMetrics(e))), got);
  assert.deepEqual(samples(parseMetrics(serializeMetrics(detachExposition(e)))), got);
}
