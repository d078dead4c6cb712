import { newLabels, ParsedSample, type Exposition, type MetricFamily, type Sample } from './parse.js';

/**
 * Every string the parser hands out (names, HELP/TYPE lines, label blocks) is a slice of the body, and
 * V8 keeps a slice's whole parent string alive. A caller that keeps a few egress samples of each pod
 * therefore keeps every pod's full body: 200 pods × 400 kB is 80 MB, twice that across two `--watch`
 * rounds. `detachExposition` copies what is kept out of the body so the body can be collected.
 */

/**
 * Strings shared between expositions: one flat copy of each distinct name and label value. Pass the same
 * interner for every pod of a scrape so `parent_kind="EgressNetwork"` and friends exist once.
 */
export type Interner = Map<string, string>;

/** A new, empty interner. */
export const newInterner = (): Interner => new Map();

/**
 * A copy of `s` that does not point into the string `s` was sliced from. Concatenation makes a cons
 * string; slicing it flattens the cons into a new buffer, so the result refers only to that copy.
 * V8 already copies slices shorter than 13 characters, so those are returned as they are.
 */
function flatCopy(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** The interned, detached copy of `s`. */
export function intern(pool: Interner, s: string): string {
  let v = pool.get(s);
  if (v === undefined) {
    v = flatCopy(s);
    pool.set(v, v);
  }
  return v;
}

/**
 * Per interner: the detached labels of each label block, by its text on the wire. The pods of a scrape
 * serve the same series (a proxy's labels name no pod), so after the first pod a sample's labels are
 * one lookup of its block instead of decoding it and interning every name and value: that was most of
 * the CPU `egress stat` spent per pod on its egress samples. The labels objects are shared between
 * samples and pods: read-only, as every sample's labels are to their readers.
 */
const blocks = new WeakMap<Interner, Map<string, Record<string, string>>>();

function detachLabels(s: Sample, pool: Interner): Record<string, string> {
  if (!(s instanceof ParsedSample)) return internLabels(s.labels, pool);
  let byText = blocks.get(pool);
  if (!byText) blocks.set(pool, (byText = new Map<string, Record<string, string>>()));
  const text = s.labelText;
  let labels = byText.get(text);
  if (labels === undefined) {
    labels = internLabels(s.labels, pool);
    byText.set(flatCopy(text), labels);
  }
  return labels;
}

function internLabels(from: Record<string, string>, pool: Interner): Record<string, string> {
  const labels = newLabels();
  for (const k in from) labels[intern(pool, k)] = intern(pool, from[k] as string);
  return labels;
}

function detachSample(s: Sample, pool: Interner): Sample {
  const out: Sample = { name: intern(pool, s.name), labels: detachLabels(s, pool), value: s.value };
  if (s.text !== undefined) out.text = intern(pool, s.text);
  if (s.timestamp !== undefined) out.timestamp = flatCopy(s.timestamp);
  return out;
}

function detachFamily(f: MetricFamily, pool: Interner): MetricFamily {
  const out: MetricFamily = {
    name: intern(pool, f.name),
    type: f.type,
    header: f.header.map((h) => intern(pool, h)),
    samples: f.samples.map((s) => detachSample(s, pool)),
  };
  if (f.help !== undefined) out.help = intern(pool, f.help);
  if (f.unit !== undefined) out.unit = intern(pool, f.unit);
  return out;
}

/**
 * The same exposition with every string copied out of the body it was parsed from (labels decoded),
 * so the body can be garbage-collected while the result is kept. Equal to the input under
 * `serializeMetrics` up to label spacing (detached samples are written canonically). Call it on
 * what is kept across pods or rounds, after the parser's `keep` filter has dropped the rest.
 */
export function detachExposition(e: Exposition, pool: Interner = newInterner()): Exposition {
  const out: Exposition = { eof: e.eof, families: e.families.map((f) => detachFamily(f, pool)) };
  if (e.openMetricsLine !== undefined) out.openMetricsLine = e.openMetricsLine;
  if (e.duplicates !== undefined) out.duplicates = e.duplicates;
  return out;
}
