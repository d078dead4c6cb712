/**
 * An exact parser for what linkerd2-proxy serves on `/metrics`: a legacy Prometheus text section, then
 * an OpenMetrics section, then `# EOF` (linkerd2-proxy `linkerd/app/src/lib.rs`
 * joins the two reports; `linkerd/metrics/src/serve.rs` serves them). One pass over the text with
 * charCode scanning, no regular expression per line.
 *
 * Why not parse-prometheus-text-format (the package the design names): on these bodies it splits every
 * OpenMetrics counter into an empty family plus an untyped `_total` family, collapses labelled histograms
 * (losing their labels, `_sum` and `_count`), and drops the last sample when there is no trailing
 * newline, all without an error. test/metrics-parse.test.ts shows each defect on the fixtures.
 */

export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'summary'
  | 'untyped'
  | 'unknown'
  | 'info'
  | 'stateset'
  | 'gaugehistogram';

/** One sample line. `labels` keep their order on the wire. */
export interface Sample {
  /** The full sample name, e.g. `x_total`, `x_bucket`. */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The value's text when `String(value)` would print it differently (`1.0`, `+Inf`), for exact output. */
  text?: string;
  timestamp?: string;
}

export interface MetricFamily {
  /** The name on the TYPE/HELP lines (for a sample with no TYPE line, the sample's name). */
  name: string;
  type: MetricType;
  help?: string;
  unit?: string;
  /** The descriptor lines as they were on the wire (HELP, TYPE, UNIT), re-emitted by the serializer. */
  header: string[];
  samples: Sample[];
}

export interface Exposition {
  families: MetricFamily[];
  /** The body ended its OpenMetrics section with `# EOF`. */
  eof: boolean;
}

/** A malformed line: says where and why. */
export class MetricsParseError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly text: string,
  ) {
    super(
      `malformed metrics at line ${line}: ${reason}: ${text.length > 120 ? `${text.slice(0, 117)}...` : text}`,
    );
  }
}

/** Sample-name suffixes each family type may carry. */
const SUFFIXES: Record<string, readonly string[]> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  info: ['_info'],
};

const TYPES = new Set<string>([
  'counter',
  'gauge',
  'histogram',
  'summary',
  'untyped',
  'unknown',
  'info',
  'stateset',
  'gaugehistogram',
]);

function belongs(f: MetricFamily, sample: string): boolean {
  if (sample === f.name) return true;
  if (!sample.startsWith(f.name)) return false;
  const rest = sample.slice(f.name.length);
  return (SUFFIXES[f.type] ?? []).includes(rest);
}

function parseValue(t: string): number | undefined {
  switch (t) {
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Infinity;
    case '-Inf':
    case '-inf':
      return -Infinity;
    case 'NaN':
    case 'nan':
      return NaN;
  }
  // Digits, sign, point and exponent only (Number() alone would also take 0x1f, 0b1 and '').
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69))
      return undefined;
  }
  const v = Number(t);
  return t === '' || Number.isNaN(v) ? undefined : v;
}

const isNameStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57);

export interface ParseOptions {
  /** Parse only families whose name passes; other sample lines are skipped without being parsed. */
  keep?: (family: string) => boolean;
}

/**
 * Parses a `/metrics` body. Throws MetricsParseError (with the 1-based line number) on a malformed line.
 * Comment lines that are not HELP/TYPE/UNIT/EOF (such as linkerd's `#` / `# POD …` headers) are skipped.
 */
export function parseMetrics(body: string, opts: ParseOptions = {}): Exposition {
  const families: MetricFamily[] = [];
  const byName = new Map<string, MetricFamily>();
  let current: MetricFamily | undefined;
  let eof = false;
  let lineNo = 0;
  let pos = 0;
  const n = body.length;
  const keep = opts.keep;
  let lastName = '';
  let lastOwner: MetricFamily | undefined;
  let lastOwnerName = '';

  const family = (name: string): MetricFamily => {
    let f = byName.get(name);
    if (!f) {
      f = { name, type: 'untyped', header: [], samples: [] };
      byName.set(name, f);
      families.push(f);
    }
    return f;
  };

  while (pos < n) {
    let end = body.indexOf('\n', pos);
    if (end < 0) end = n;
    lineNo++;
    let lineEnd = end;
    if (lineEnd > pos && body.charCodeAt(lineEnd - 1) === 13) lineEnd--; // CRLF
    const start = pos;
    pos = end + 1;
    if (lineEnd === start) continue;
    const c0 = body.charCodeAt(start);
    if (c0 === 35 /* # */) {
      const line = body.slice(start, lineEnd);
      if (line === '# EOF') {
        eof = true;
        current = undefined;
        continue;
      }
      // dotAll: HELP text may hold U+2028/U+2029, which `.` alone does not match (the line would be skipped).
      const m = /^# (HELP|TYPE|UNIT) ([^ ]+)(?: (.*))?$/s.exec(line);
      if (!m) continue; // a comment, or linkerd's `# POD` header
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!isValidName(name)) throw new MetricsParseError(lineNo, `invalid metric name "${name}"`, line);
      const f = family(name);
      current = f;
      f.header.push(line);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new MetricsParseError(lineNo, `unknown metric type "${rest}"`, line);
        f.type = rest as MetricType;
      } else if (kind === 'HELP') f.help = unescapeHelp(rest);
      else f.unit = rest;
      continue;
    }
    // A sample line: name, optional {labels}, value, optional timestamp.
    let i = start;
    let sampleName: string;
    // Series of a family come together: most lines start with the previous line's name.
    const after = body.charCodeAt(start + lastName.length);
    if (lastName !== '' && (after === 123 || after === 32) && body.startsWith(lastName, start)) {
      sampleName = lastName;
      i = start + lastName.length;
    } else {
      if (!isNameStart(c0))
        throw new MetricsParseError(lineNo, 'expected a metric name', body.slice(start, lineEnd));
      while (i < lineEnd && isNameChar(body.charCodeAt(i))) i++;
      sampleName = body.slice(start, i);
      lastName = sampleName;
    }
    // The family is the previous line's when the name repeats (checked once per name, not per line).
    let f =
      current !== undefined &&
      (current === lastOwner && sampleName === lastOwnerName ? true : belongs(current, sampleName))
        ? current
        : undefined;
    if (!f) {
      // A sample without a TYPE line, or of another family: an untyped family of its own.
      f = byName.get(sampleName) ?? family(sampleName);
      current = f;
    }
    lastOwner = f;
    lastOwnerName = sampleName;
    if (keep && !keep(f.name)) continue;
    // The label block is checked in one native pass (a sticky regular expression) and kept as text;
    // the labels object is built when a sample's labels are first read. Decoding every label while
    // parsing cost most of the parse time and memory, and most callers read only some families.
    // The block is kept as two offsets into the body, not a slice: one object per sample instead of two
    // keeps V8's young generation from growing to its maximum on a large body (-7 MB peak at 37 MB).
    let labelStart = 0;
    let labelEnd = 0;
    if (body.charCodeAt(i) === 123 /* { */) {
      LABEL_BLOCK.lastIndex = i + 1;
      if (!LABEL_BLOCK.test(body) || LABEL_BLOCK.lastIndex > lineEnd) {
        throw new MetricsParseError(
          lineNo,
          labelBlockError(body.slice(i + 1, lineEnd)),
          body.slice(start, lineEnd),
        );
      }
      labelStart = i + 1;
      labelEnd = LABEL_BLOCK.lastIndex - 1;
      i = LABEL_BLOCK.lastIndex;
    }
    if (body.charCodeAt(i) !== 32 && body.charCodeAt(i) !== 9) {
      throw new MetricsParseError(
        lineNo,
        i >= lineEnd ? 'missing value' : 'expected a space before the value',
        body.slice(start, lineEnd),
      );
    }
    while (i < lineEnd && (body.charCodeAt(i) === 32 || body.charCodeAt(i) === 9)) i++;
    let ve = i;
    while (ve < lineEnd && body.charCodeAt(ve) !== 32 && body.charCodeAt(ve) !== 9) ve++;
    const valueText = body.slice(i, ve);
    const value = parseValue(valueText);
    if (value === undefined)
      throw new MetricsParseError(lineNo, `invalid value "${valueText}"`, body.slice(start, lineEnd));
    const sample = new ParsedSample(sampleName, body, labelStart, labelEnd, value);
    // Keep the text only where String(value) would print it differently (`1.0`, `+Inf`, `1e3`, `007`).
    if (!isPlainInteger(valueText) && String(value) !== valueText) sample.text = valueText;
    while (ve < lineEnd && (body.charCodeAt(ve) === 32 || body.charCodeAt(ve) === 9)) ve++;
    if (ve < lineEnd) {
      const ts = body.slice(ve, lineEnd).trim();
      if (!/^-?\d+(\.\d+)?$/.test(ts))
        throw new MetricsParseError(lineNo, `invalid timestamp "${ts}"`, body.slice(start, lineEnd));
      sample.timestamp = ts;
    }
    f.samples.push(sample);
  }
  return { families, eof };
}

const LABEL = '[a-zA-Z_:][a-zA-Z0-9_:]*="(?:[^"\\\\\\n]|\\\\.)*"';
/** A whole label block after its `{`, up to and including the `}` (sticky: anchored where it starts). */
const LABEL_BLOCK = new RegExp(` *(?:${LABEL} *(?:, *${LABEL} *)*,? *)?\\}`, 'y');

/**
 * A parsed sample whose labels are decoded on first read. `labelText` is the block as it was on the
 * wire (between the braces), which the serializer writes back as is.
 */
export class ParsedSample implements Sample {
  // Declared, not initialized: most samples have neither, and two fewer fields per sample is 1.7 MB
  // less on the 107k-sample body.
  declare text?: string;
  declare timestamp?: string;
  #labels: Record<string, string> | undefined;
  // Private (#) so that spreading, JSON and deepEqual see a plain sample, never the whole body.
  readonly #body: string;
  readonly #labelStart: number;
  readonly #labelEnd: number;
  readonly name: string;
  readonly value: number;
  /** `labelStart`..`labelEnd`: the label block's offsets in `body`, without the braces. */
  constructor(name: string, body: string, labelStart: number, labelEnd: number, value: number) {
    this.name = name;
    this.#body = body;
    this.#labelStart = labelStart;
    this.#labelEnd = labelEnd;
    this.value = value;
  }
  /** The label block as it was on the wire, between the braces (`''` for none). */
  get labelText(): string {
    return this.#body.slice(this.#labelStart, this.#labelEnd);
  }
  get labels(): Record<string, string> {
    return (this.#labels ??= decodeLabels(this.labelText));
  }
}

/**
 * The names and values the last decoded block had, by position. Series of a family repeat their label
 * names and most values, so a block is mostly the previous one: comparing in place (startsWith) and
 * reusing those strings avoids allocating a new string per label, which was most of the decoding time
 * and memory.
 */
let prevNames: string[] = [];
let prevValues: string[] = [];

/** Decodes a label block that LABEL_BLOCK accepted: names and unescaped values, in order. */
function decodeLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const n = text.length;
  // Escapes are rare (linkerd2-proxy writes none): one search per block decides the fast path.
  const escapes = text.indexOf('\\') >= 0;
  const names = prevNames;
  const values = prevValues;
  const newNames: string[] = [];
  const newValues: string[] = [];
  let i = 0;
  for (let k = 0; i < n; k++) {
    let c = text.charCodeAt(i);
    while (c === 32 || c === 44) c = text.charCodeAt(++i);
    if (i >= n) break;
    let name = names[k];
    let eq: number;
    if (name !== undefined && text.charCodeAt(i + name.length) === 61 && text.startsWith(name, i)) {
      eq = i + name.length;
    } else {
      eq = text.indexOf('="', i);
      name = text.slice(i, eq);
    }
    const vs = eq + 2;
    let value = values[k];
    let q: number;
    if (
      !escapes &&
      value !== undefined &&
      text.charCodeAt(vs + value.length) === 34 &&
      text.startsWith(value, vs)
    ) {
      q = vs + value.length;
    } else if (!escapes) {
      q = text.indexOf('"', vs);
      value = text.slice(vs, q);
    } else {
      // A backslash somewhere: scan for the closing quote, skipping escaped characters.
      q = vs;
      while (q < n) {
        const d = text.charCodeAt(q);
        if (d === 92) q += 2;
        else if (d === 34) break;
        else q++;
      }
      const raw = text.slice(vs, q);
      value = raw.indexOf('\\') >= 0 ? unescapeLabel(raw) : raw;
    }
    labels[name] = value;
    newNames.push(name);
    newValues.push(value);
    i = q + 1;
  }
  prevNames = newNames;
  prevValues = newValues;
  return labels;
}

/** Why a label block is malformed, for the error (the block already failed LABEL_BLOCK). */
function labelBlockError(rest: string): string {
  let i = 0;
  for (;;) {
    while (rest.charCodeAt(i) === 32) i++;
    if (rest.charCodeAt(i) === 125) return 'malformed label block';
    const ls = i;
    if (!isNameStart(rest.charCodeAt(i))) return 'expected a label name';
    while (i < rest.length && isNameChar(rest.charCodeAt(i))) i++;
    const name = rest.slice(ls, i);
    if (rest.charCodeAt(i) !== 61 || rest.charCodeAt(i + 1) !== 34)
      return `expected ="…" after label ${name}`;
    i += 2;
    while (i < rest.length && rest.charCodeAt(i) !== 34) i += rest.charCodeAt(i) === 92 ? 2 : 1;
    if (i >= rest.length) return `unterminated value of label ${name}`;
    i++;
    while (rest.charCodeAt(i) === 32) i++;
    const c = rest.charCodeAt(i);
    if (c === 44) i++;
    else if (c === 125) return 'malformed label block';
    else return `expected , or } after label ${name}`;
  }
}

/** Digits without a leading zero (or a lone 0), with an optional minus: String(Number(t)) === t. */
function isPlainInteger(t: string): boolean {
  const start = t.charCodeAt(0) === 45 ? 1 : 0;
  const n = t.length - start;
  if (n === 0 || n > 15 || (n > 1 && t.charCodeAt(start) === 48)) return false;
  for (let i = start; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return !(start === 1 && t === '-0');
}

function isValidName(s: string): boolean {
  if (!s || !isNameStart(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isNameChar(s.charCodeAt(i))) return false;
  return true;
}

function unescapeLabel(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function unescapeHelp(s: string): string {
  return s.replace(/\\([\\n"])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Label values escaped for the wire. */
export function escapeLabel(s: string): string {
  return s.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** A sample's value as it appeared (or canonically). */
export function valueText(s: Sample): string {
  if (s.text !== undefined) return s.text;
  if (Number.isNaN(s.value)) return 'NaN';
  if (s.value === Infinity) return '+Inf';
  if (s.value === -Infinity) return '-Inf';
  return String(s.value);
}

/** Renders families back to the wire format they came in (descriptor lines kept verbatim). */
export function serializeMetrics(e: Exposition): string {
  const out: string[] = [];
  for (const f of e.families) {
    if (f.header.length === 0 && f.samples.length === 0) continue;
    out.push(...f.header);
    for (const s of f.samples) {
      // A parsed sample is written back exactly as it came; others (obfuscated, computed) from labels.
      let labels: string;
      if (s instanceof ParsedSample) labels = s.labelText === '' ? '' : `{${s.labelText}}`;
      else {
        const keys = Object.keys(s.labels);
        labels = keys.length
          ? `{${keys.map((k) => `${k}="${escapeLabel(s.labels[k] as string)}"`).join(',')}}`
          : '';
      }
      out.push(`${s.name}${labels} ${valueText(s)}${s.timestamp !== undefined ? ` ${s.timestamp}` : ''}`);
    }
  }
  if (e.eof) out.push('# EOF');
  return out.length ? `${out.join('\n')}\n` : '';
}
