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
  /** The line the OpenMetrics section starts at (after the legacy text section), when there is one. */
  openMetricsLine?: number;
  /** Samples dropped because their series (name and labels) came earlier in the body. */
  duplicates?: number;
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

/**
 * A sample value as Prometheus reads it: Go's strconv.ParseFloat, without `p` or `_` (parseFloat in
 * prometheus model/textparse/promparse.go). So `Inf`, `+inf`, `infinity` (any case, optional sign) and
 * `NaN`, `nan` (any case, no sign) are numbers; hex, `1_000`, `0b1` and out-of-range decimals (`1e400`,
 * which ParseFloat rejects with ErrRange) are not.
 */
function parseValue(t: string): number | undefined {
  const n = t.length;
  // Fast path: the proxy writes plain integers.
  let i = t.charCodeAt(0) === 45 ? 1 : 0;
  if (n > i && n < 16) {
    while (i < n && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
    if (i === n) return Number(t);
  }
  const c0 = t.charCodeAt(0);
  const signed = c0 === 43 || c0 === 45;
  const word = (signed ? t.slice(1) : t).toLowerCase();
  if (word === 'inf' || word === 'infinity') return c0 === 45 ? -Infinity : Infinity;
  if (word === 'nan') return signed ? undefined : NaN;
  if (!DECIMAL.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}
/** Go's decimal float syntax; no nested quantifier can backtrack, so a long token is matched linearly. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const isNameStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57);
/** Label names have no `:` (promlex.l: `{L}({L}|{D})*`, where metric names are `{M}({M}|{D})*`). */
const isLabelStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isLabelChar = (c: number) => isLabelStart(c) || (c >= 48 && c <= 57);
const isBlank = (c: number) => c === 32 || c === 9;

/**
 * An object to hold labels whose prototype chain holds nothing (an empty object, then null), so any
 * label name (`__proto__`, `constructor`) is an own key and no missing one reads as Object.prototype's.
 * Made by a constructor rather than Object.create(null), whose objects V8 keeps as hash tables: that
 * cost 2.5x the time and twice the memory of reading every label of a large body.
 */
const Labels = function (this: object) {} as unknown as new () => Record<string, string>;
Labels.prototype = Object.create(null) as object;
export function newLabels(): Record<string, string> {
  return new Labels();
}

export interface ParseOptions {
  /** Parse only families whose name passes; other sample lines are skipped without being parsed. */
  keep?: (family: string) => boolean;
}

const ALL_SUFFIXES = [...new Set(Object.values(SUFFIXES).flat())];

/**
 * The body of `raw` as text, with each sample line that cannot belong to a family `keep` passes blanked
 * (an empty line, so error line numbers stay those of the body): for `parseMetrics(…, { keep })` when
 * most of a body is families the caller skips. The proxy's /metrics is mostly other families; decoding
 * all of it into a string and scanning every line again cost more CPU per pod than the rest of a scrape.
 *
 * A line is blanked only when it is certainly skipped: a sample line that starts (after blanks) with a
 * metric name followed by `{` or a blank, or a well-formed `# HELP name …` / `# TYPE name <type>`, where
 * neither the name nor the name less a type suffix (`_bucket`, `_total`, ...) is kept. Other comments,
 * lines with a `\r`, and anything the parser would reject before its `keep` check are kept, so
 * parseMetrics reports every error it would report on the whole body. What differs: families not kept
 * are absent, and the OpenMetrics tail (which only chooses how kept HELP texts are unescaped) is placed
 * from the kept lines only.
 */

/**
 * Decisions of a `keep` function by name, kept across bodies: every pod of a scrape serves the same
 * names, and deciding one (keep of the name and of each suffix-less form) cost more than finding it.
 * Bounded, so bodies of ever new names cannot grow it without end.
 */
const decisions = new WeakMap<(family: string) => boolean, Map<string, boolean>>();
const MAX_DECISIONS = 10_000;

function decisionsOf(keep: (family: string) => boolean): Map<string, boolean> {
  let m = decisions.get(keep);
  if (!m || m.size > MAX_DECISIONS) decisions.set(keep, (m = new Map<string, boolean>()));
  return m;
}

/** Whether lines named `name` may belong to a kept family: the name itself, or less a type suffix. */
function keptName(name: string, keep: (family: string) => boolean, decided: Map<string, boolean>): boolean {
  let kept = decided.get(name);
  if (kept === undefined) {
    kept = keep(name) || ALL_SUFFIXES.some((x) => name.endsWith(x) && keep(name.slice(0, -x.length)));
    decided.set(name, kept);
  }
  return kept;
}

/** `raw[a, a+len)` and `raw[b, b+len)` hold the same bytes (from the end: names share prefixes). */
function sameBytes(raw: Buffer, a: number, b: number, len: number): boolean {
  for (let k = len - 1; k >= 0; k--) if (raw[a + k] !== raw[b + k]) return false;
  return true;
}

/** `# HELP ` or `# TYPE ` at `at`: 1 for HELP, 2 for TYPE, 0 for neither. */
function headerKind(raw: Buffer, at: number): number {
  if (raw[at + 1] !== 32 || raw[at + 6] !== 32) return 0;
  const a = raw[at + 2];
  if (a === 72 && raw[at + 3] === 69 && raw[at + 4] === 76 && raw[at + 5] === 80) return 1;
  if (a === 84 && raw[at + 3] === 89 && raw[at + 4] === 80 && raw[at + 5] === 69) return 2;
  return 0;
}

export function prefilterMetrics(raw: Buffer, keep: (family: string) => boolean): string {
  const n = raw.length;
  const parts: string[] = [];
  const decided = decisionsOf(keep);
  let keptFrom = 0; // start of the run of kept lines not yet decoded
  let blanks = 0; // lines blanked since that run
  let crAt = -2; // the next \r at or after the line (-1: none left)
  // The name of the previous sample or HELP/TYPE line (a family's lines come together), compared
  // byte by byte in place, and whether it was kept: most lines decide without a string or a lookup.
  let lastAt = 0;
  let lastLen = 0;
  let lastKept = true;
  /** Whether the name at raw[from, to) is kept. */
  const decide = (from: number, to: number): boolean => {
    const len = to - from;
    if (len !== lastLen || !sameBytes(raw, lastAt, from, len)) {
      lastKept = keptName(raw.toString('latin1', from, to), keep, decided);
      lastLen = len;
    }
    lastAt = from;
    return lastKept;
  };
  let pos = 0;
  while (pos < n) {
    let end = raw.indexOf(10, pos);
    if (end < 0) end = n;
    let i = pos;
    let c = raw[i] as number;
    while (i < end && (c === 32 || c === 9)) c = raw[++i] as number;
    let drop = false;
    if (crAt !== -1 && crAt < pos) crAt = raw.indexOf(13, pos);
    if (crAt !== -1 && crAt < end)
      drop = false; // the parser reports it
    else if (c === 35 /* # */) {
      // A well-formed `# HELP name …` or `# TYPE name <type>` (what the parser accepts) of a family
      // not kept. Anything else, a name with other bytes or a tab after it included, is kept.
      const kind = i === pos ? headerKind(raw, pos) : 0;
      const a = pos + 7;
      let b = a;
      if (kind !== 0 && b < end && isNameStart(raw[b] as number)) {
        while (++b < end && isNameChar(raw[b] as number));
        if ((b === end || raw[b] === 32) && !decide(a, b))
          drop = kind === 1 || (b < end && TYPES.has(raw.toString('latin1', b + 1, end)));
      }
    } else if (i < end && isNameStart(c)) {
      const t = raw[i + lastLen];
      if (
        lastLen > 0 &&
        i + lastLen < end &&
        (t === 123 || t === 32 || t === 9) &&
        sameBytes(raw, lastAt, i, lastLen)
      ) {
        // The previous line's name again: no scan.
        lastAt = i;
        drop = !lastKept;
      } else {
        let j = i + 1;
        while (j < end && isNameChar(raw[j] as number)) j++;
        const u = raw[j];
        if (j < end && (u === 123 || u === 32 || u === 9)) drop = !decide(i, j);
      }
    }
    if (drop) {
      if (keptFrom < pos) parts.push(raw.toString('utf8', keptFrom, pos));
      blanks++;
      keptFrom = end + 1;
    } else if (blanks > 0) {
      parts.push('\n'.repeat(blanks));
      blanks = 0;
    }
    pos = end + 1;
  }
  if (keptFrom < n) parts.push(raw.toString('utf8', keptFrom, n));
  // A last line without its \n, blanked, is no line at all.
  if (blanks > 0) parts.push('\n'.repeat(raw[n - 1] === 10 ? blanks : blanks - 1));
  return parts.join('');
}

/**
 * Parses a `/metrics` body. Throws MetricsParseError (with the 1-based line number) on a malformed line.
 * Comment lines that are not HELP/TYPE/UNIT/EOF (such as linkerd's `#` / `# POD …` headers) are skipped.
 *
 * As Prometheus' text parser (model/textparse/promlex.l, promparse.go): blanks (spaces, tabs) may stand
 * between any two tokens of a sample line, a label block may end in a comma, and a repeated series
 * (same name and labels) keeps its first sample, the rest counted in `duplicates`. Only `\n` ends a
 * line; a `\r` right before it is dropped (a CRLF body parses), and any other `\r` is an error, where
 * Prometheus would read the rest of a CR-only body as one HELP text and then fail for want of a line
 * feed. Every step is linear in the line: no regular expression can backtrack over a label block.
 */
export function parseMetrics(body: string, opts: ParseOptions = {}): Exposition {
  const families: MetricFamily[] = [];
  const byName = new Map<string, MetricFamily>();
  // Per family: the line its section starts at, raw HELP text, and whether it is OpenMetrics-shaped.
  const firstLine = new Map<MetricFamily, number>();
  const rawHelp = new Map<MetricFamily, string>();
  const openMetricsShaped = new Set<MetricFamily>();
  const legacyShaped = new Set<MetricFamily>();
  // Per sample name: the series seen, by canonical label text (see seriesText). A name's first series
  // is kept as its key alone; the Set is made for the second (most names of a body have one series).
  const seen = new Map<string, string | Set<string>>();
  let duplicates = 0;
  let current: MetricFamily | undefined;
  let eof = false;
  let lineNo = 0;
  let pos = 0;
  const n = body.length;
  const keep = opts.keep;
  let lastName = '';
  let lastOwner: MetricFamily | undefined;
  let lastOwnerName = '';
  // The next `\r` and `\\` at or after the scan position, found by searches that only move forward, so
  // finding them costs one pass over the body however many lines or values ask.
  let crAt = -2;
  scanBody = body;
  backslashAt = -2;

  const family = (name: string): MetricFamily => {
    let f = byName.get(name);
    if (!f) {
      f = { name, type: 'untyped', header: [], samples: [] };
      byName.set(name, f);
      families.push(f);
      firstLine.set(f, lineNo);
    }
    return f;
  };

  try {
    while (pos < n) {
      let end = body.indexOf('\n', pos);
      if (end < 0) end = n;
      lineNo++;
      let lineEnd = end;
      if (lineEnd > pos && body.charCodeAt(lineEnd - 1) === 13) lineEnd--; // CRLF
      let start = pos;
      pos = end + 1;
      if (crAt !== -1 && crAt < start) crAt = body.indexOf('\r', start);
      if (crAt !== -1 && crAt < lineEnd) {
        throw new MetricsParseError(
          lineNo,
          'carriage return without a line feed (only \\n ends a line)',
          body.slice(start, lineEnd),
        );
      }
      while (start < lineEnd && isBlank(body.charCodeAt(start))) start++;
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
        const m = /^#[ \t]+(HELP|TYPE|UNIT)[ \t]+([^ \t]+)(?:[ \t](.*))?$/s.exec(line);
        if (!m) continue; // a comment, or linkerd's `# POD` header
        const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
        if (!isValidName(name)) throw new MetricsParseError(lineNo, `invalid metric name "${name}"`, line);
        const f = family(name);
        current = f;
        f.header.push(line);
        if (kind === 'TYPE') {
          if (!TYPES.has(rest)) throw new MetricsParseError(lineNo, `unknown metric type "${rest}"`, line);
          f.type = rest as MetricType;
          if (rest === 'unknown' || rest === 'info' || rest === 'stateset' || rest === 'gaugehistogram')
            openMetricsShaped.add(f);
        } else if (kind === 'HELP') rawHelp.set(f, rest);
        else {
          f.unit = rest;
          openMetricsShaped.add(f);
        }
        continue;
      }
      // A sample line: name, optional {labels}, value, optional timestamp.
      let i = start;
      let sampleName: string;
      // Series of a family come together: most lines start with the previous line's name.
      const after = body.charCodeAt(start + lastName.length);
      if (lastName !== '' && (after === 123 || isBlank(after)) && body.startsWith(lastName, start)) {
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
      if (lastOwner !== f || lastOwnerName !== sampleName) {
        // An OpenMetrics counter's samples are `x_total`; a legacy counter's are named as on TYPE.
        if (f.type === 'counter') (sampleName === f.name ? legacyShaped : openMetricsShaped).add(f);
        lastOwner = f;
        lastOwnerName = sampleName;
      }
      if (keep && !keep(f.name)) continue;
      // The label block is checked in one linear pass and kept as two offsets into the body; the labels
      // object is built when a sample's labels are first read. Decoding every label while parsing cost
      // most of the parse time and memory, and most callers read only some families. Offsets, not a
      // slice: one object per sample instead of two keeps V8's young generation from growing to its
      // maximum on a large body (-7 MB peak at 37 MB).
      let labelStart = 0;
      let labelEnd = 0;
      let plain = true;
      while (isBlank(body.charCodeAt(i)) && i < lineEnd) i++;
      if (body.charCodeAt(i) === 123 /* { */) {
        const close = scanLabelBlock(i + 1, lineEnd);
        if (close < 0) throw new MetricsParseError(lineNo, scanError, body.slice(start, lineEnd));
        labelStart = i + 1;
        labelEnd = close - 1;
        plain = scanPlain;
        i = close;
      } else if (!isBlank(body.charCodeAt(i - 1))) {
        throw new MetricsParseError(
          lineNo,
          i >= lineEnd ? 'missing value' : 'expected a space before the value',
          body.slice(start, lineEnd),
        );
      }
      while (i < lineEnd && isBlank(body.charCodeAt(i))) i++;
      if (i >= lineEnd) throw new MetricsParseError(lineNo, 'missing value', body.slice(start, lineEnd));
      let ve = i;
      while (ve < lineEnd && !isBlank(body.charCodeAt(ve))) ve++;
      const valueText = body.slice(i, ve);
      const value = parseValue(valueText);
      if (value === undefined)
        throw new MetricsParseError(
          lineNo,
          `invalid value "${valueText.length > 40 ? `${valueText.slice(0, 37)}...` : valueText}"`,
          body.slice(start, lineEnd),
        );
      const sample = new ParsedSample(sampleName, body, labelStart, labelEnd, value);
      // Keep the text only where String(value) would print it differently (`1.0`, `+Inf`, `1e3`, `007`).
      if (!isPlainInteger(valueText) && String(value) !== valueText) sample.text = valueText;
      while (ve < lineEnd && isBlank(body.charCodeAt(ve))) ve++;
      if (ve < lineEnd) {
        const ts = body.slice(ve, lineEnd).trim();
        if (!/^-?\d+(\.\d+)?$/.test(ts))
          throw new MetricsParseError(
            lineNo,
            `invalid timestamp "${ts.length > 40 ? `${ts.slice(0, 37)}...` : ts}"`,
            body.slice(start, lineEnd),
          );
        sample.timestamp = ts;
      }
      // A repeated series: Prometheus appends the first sample of a series in a scrape and drops the
      // rest (a second sample at the same timestamp is rejected by the head appender). The proxy has
      // served such bodies (linkerd2 #13821); summing them would double its counts.
      const key = plain ? body.slice(labelStart, labelEnd) : seriesText(sample.labels);
      const had = seen.get(sampleName);
      if (had === undefined) seen.set(sampleName, key);
      else if (typeof had === 'string') {
        if (had === key) {
          duplicates++;
          continue;
        }
        seen.set(sampleName, new Set([had, key]));
      } else if (had.has(key)) {
        duplicates++;
        continue;
      } else had.add(key);
      f.samples.push(sample);
    }
  } finally {
    scanBody = '';
  }
  // The OpenMetrics section is the tail of a body that ends in `# EOF`. It starts after the last family
  // only the legacy text writes (a counter sampled under its TYPE name, or samples without a TYPE)
  // before the first family only OpenMetrics writes (`x_total` under `# TYPE x counter`, UNIT, the
  // OpenMetrics-only types). Gauges between the two are prometheus-client's: linkerd2-proxy ends its
  // legacy report with counters (stack_*). HELP escapes differ between the sections.
  let omFrom = eof ? families.findIndex((f) => openMetricsShaped.has(f)) : -1;
  if (omFrom < 0) omFrom = families.length;
  else
    while (omFrom > 0) {
      const f = families[omFrom - 1] as MetricFamily;
      if (legacyShaped.has(f) || f.header.length === 0) break;
      omFrom--;
    }
  for (let k = 0; k < families.length; k++) {
    const f = families[k] as MetricFamily;
    const raw = rawHelp.get(f);
    if (raw !== undefined) f.help = raw.indexOf('\\') < 0 ? raw : unescape(raw, 0, raw.length, k >= omFrom);
  }
  const e: Exposition = { families, eof };
  if (omFrom < families.length) e.openMetricsLine = firstLine.get(families[omFrom] as MetricFamily);
  if (duplicates > 0) e.duplicates = duplicates;
  return e;
}

// The label-block scanner's state: the body being parsed and the next backslash in it (-1: none left).
let scanBody = '';
let backslashAt = -2;
let scanError = '';
/** The block just scanned has no blanks, escapes or trailing comma: its text is its canonical form. */
let scanPlain = true;

function nextBackslash(from: number): number {
  if (backslashAt !== -1 && backslashAt < from) backslashAt = scanBody.indexOf('\\', from);
  return backslashAt === -1 ? Infinity : backslashAt;
}

/**
 * Checks the label block that starts after the `{` at `i`, up to its `}` before `lineEnd`. Returns the
 * offset after the `}`, or -1 with the reason in scanError. Linear: each value's end is found with
 * indexOf, and backslashes with the forward-only nextBackslash, so no character is looked at twice.
 */
function scanLabelBlock(i: number, lineEnd: number): number {
  const body = scanBody;
  scanPlain = true;
  let c = body.charCodeAt(i);
  while (isBlank(c)) {
    scanPlain = false;
    c = body.charCodeAt(++i);
  }
  if (c === 125) return i + 1;
  for (;;) {
    if (!isLabelStart(c) || i >= lineEnd) {
      scanError = i >= lineEnd ? 'unterminated label block' : 'expected a label name';
      return -1;
    }
    const ns = i;
    do c = body.charCodeAt(++i);
    while (isLabelChar(c));
    const ne = i;
    while (isBlank(c)) {
      scanPlain = false;
      c = body.charCodeAt(++i);
    }
    if (c !== 61) {
      scanError = `expected ="…" after label ${body.slice(ns, Math.min(ne, ns + 60))}`;
      return -1;
    }
    c = body.charCodeAt(++i);
    while (isBlank(c)) {
      scanPlain = false;
      c = body.charCodeAt(++i);
    }
    if (c !== 34 || i >= lineEnd) {
      scanError = `expected ="…" after label ${body.slice(ns, Math.min(ne, ns + 60))}`;
      return -1;
    }
    const vs = i + 1;
    let q = body.indexOf('"', vs);
    let b = nextBackslash(vs);
    while (q >= 0 && q < lineEnd && b < q) {
      // `\` escapes the next character (promlex.l: `\"(\\.|[^\\"])*\"`), which may be the quote.
      scanPlain = false;
      const from = b + 2;
      if (q < from) q = body.indexOf('"', from);
      b = nextBackslash(from);
    }
    if (q < 0 || q >= lineEnd) {
      scanError = `unterminated value of label ${body.slice(ns, Math.min(ne, ns + 60))}`;
      return -1;
    }
    i = q + 1;
    c = body.charCodeAt(i);
    while (isBlank(c)) {
      scanPlain = false;
      c = body.charCodeAt(++i);
    }
    if (c === 44) {
      c = body.charCodeAt(++i);
      while (isBlank(c)) {
        scanPlain = false;
        c = body.charCodeAt(++i);
      }
      if (c === 125) {
        scanPlain = false;
        return i + 1;
      }
    } else if (c === 125) return i + 1;
    else {
      scanError = `expected , or } after label ${body.slice(ns, Math.min(ne, ns + 60))}`;
      return -1;
    }
  }
}

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
    return (this.#labels ??= decodeLabelBlock(this.labelText));
  }
}

/**
 * The key that finds a repeated series: its labels in wire order as a plain block writes them, so it
 * equals the raw text of a plain block of the same series. A value that a plain block cannot hold
 * (with `\\`, `"` or a line feed) makes a length-prefixed key behind a NUL instead, which no block's
 * text starts with, and which is built without re-escaping a value of any size.
 */
function seriesText(labels: Record<string, string>): string {
  let plain = '';
  for (const name in labels) {
    if (NEEDS_ESCAPE.test(labels[name] as string)) {
      let k = '\u0000';
      for (const n in labels) k += `${n.length}:${n}${(labels[n] as string).length}:${labels[n] as string}`;
      return k;
    }
    plain += `${plain === '' ? '' : ','}${name}="${labels[name] as string}"`;
  }
  return plain;
}
const NEEDS_ESCAPE = /[\\"\n]/;

/**
 * The names and plain values the last decoded block had, by position. Series of a family repeat their
 * label names and most values, so a block is mostly the previous one: comparing in place (startsWith)
 * and reusing those strings avoids allocating a new string per label, which was most of the decoding
 * time and memory. Only values written without a backslash are kept: such a value holds no quote, so
 * when it is followed by `"` in the new block, that quote is the value's closing one. (An escaped value
 * once kept here matched across a closing quote: `a="p\",b=\"q"` then `a="p",b="q"` read `p",b="q`.)
 */
let prevNames: (string | undefined)[] = [];
let prevValues: (string | undefined)[] = [];

/**
 * Decodes a label block that scanLabelBlock accepted: names and unescaped values, in order. With
 * `cache` false it reads every label afresh; the property test holds the two equal.
 */
export function decodeLabelBlock(text: string, cache = true): Record<string, string> {
  const labels = newLabels();
  const n = text.length;
  const names = cache ? prevNames : [];
  const values = cache ? prevValues : [];
  const newNames: (string | undefined)[] = [];
  const newValues: (string | undefined)[] = [];
  let bs = text.indexOf('\\');
  if (bs < 0) bs = Infinity;
  let i = 0;
  for (let k = 0; ; k++) {
    let c = text.charCodeAt(i);
    while (c === 32 || c === 9 || c === 44) c = text.charCodeAt(++i);
    if (i >= n) break;
    let name = names[k];
    let ne: number;
    if (name !== undefined && text.startsWith(name, i) && !isLabelChar(text.charCodeAt(i + name.length))) {
      ne = i + name.length;
    } else {
      ne = i;
      while (isLabelChar(text.charCodeAt(ne))) ne++;
      name = text.slice(i, ne);
    }
    let j = ne;
    while (text.charCodeAt(j) !== 34) j++; // blanks, `=`, blanks
    const vs = j + 1;
    let value = values[k];
    let q: number;
    let cacheable = true;
    if (value !== undefined && text.charCodeAt(vs + value.length) === 34 && text.startsWith(value, vs)) {
      q = vs + value.length;
    } else {
      q = text.indexOf('"', vs);
      if (bs < q) {
        // Escapes: the closing quote is the first one no backslash escapes.
        while (bs < q) {
          const from = bs + 2;
          if (q < from) q = text.indexOf('"', from);
          bs = text.indexOf('\\', from);
          if (bs < 0) bs = Infinity;
        }
        value = unescape(text, vs, q, true);
        cacheable = false;
      } else value = text.slice(vs, q);
    }
    labels[name] = value;
    newNames.push(name);
    newValues.push(cacheable ? value : undefined);
    i = q + 1;
  }
  if (cache) {
    prevNames = newNames;
    prevValues = newValues;
  }
  return labels;
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

const CHUNK = 8192;

/**
 * `s[from, to)` unescaped: `\\` is a backslash, `\n` a line feed and, with `quote`, `\"` a quote; any
 * other backslash stays with the character after it (promparse.go's lvalReplacer for label values and
 * OpenMetrics HELP, helpReplacer for legacy HELP, which has no `\"`). Copied through a fixed buffer
 * into a few large strings, so a value of millions of escapes costs about its own size, not a string
 * or a callback per escape.
 */
function unescape(s: string, from: number, to: number, quote: boolean): string {
  const buf = new Uint16Array(Math.min(CHUNK, to - from));
  const parts: string[] = [];
  let k = 0;
  for (let i = from; i < to; i++) {
    let c = s.charCodeAt(i);
    if (c === 92 && i + 1 < to) {
      const d = s.charCodeAt(i + 1);
      if (d === 92 || (quote && d === 34)) {
        c = d;
        i++;
      } else if (d === 110) {
        c = 10;
        i++;
      }
    }
    buf[k++] = c;
    if (k === buf.length) {
      parts.push(String.fromCharCode.apply(null, buf as unknown as number[]));
      k = 0;
    }
  }
  if (k > 0) parts.push(String.fromCharCode.apply(null, buf.subarray(0, k) as unknown as number[]));
  return parts.length === 1 ? (parts[0] as string) : parts.join('');
}

/** A label value as written on the wire (between its quotes), unescaped. */
export function unescapeLabel(raw: string): string {
  return raw.indexOf('\\') < 0 ? raw : unescape(raw, 0, raw.length, true);
}

/** Label values escaped for the wire. */
export function escapeLabel(s: string): string {
  // Three native passes, not a callback per character: a value of millions of escapes stays linear.
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
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
