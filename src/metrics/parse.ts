/**
 * An exact parser for what linkerd2-proxy serves on `/metrics`: a legacy Prometheus text section, then
 * an OpenMetrics section, then `# EOF` (shared/notes/proxy-metrics.md §2). One pass over the text with
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
  let lastFamily: MetricFamily | undefined;
  let lastKeys: string[] | undefined;

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
      const m = /^# (HELP|TYPE|UNIT) ([^ ]+)(?: (.*))?$/.exec(line);
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
    const labels: Record<string, string> = {};
    // Consecutive series of a family repeat label names and most values: reuse the previous sample's
    // strings when the text matches, instead of slicing new ones (a third of the parse time, and memory).
    const prev = f.samples.length ? (f.samples[f.samples.length - 1] as Sample).labels : undefined;
    if (f !== lastFamily) {
      lastFamily = f;
      lastKeys = prev ? Object.keys(prev) : undefined;
    }
    // The label names of the family's first sample seen here; a sample with others just slices its own.
    const prevKeys = lastKeys;
    let k = 0;
    if (body.charCodeAt(i) === 123 /* { */) {
      i++;
      for (; ; k++) {
        while (i < lineEnd && body.charCodeAt(i) === 32) i++;
        if (body.charCodeAt(i) === 125 /* } */) {
          i++;
          break;
        }
        const ls = i;
        let lname: string;
        const pk = prevKeys?.[k];
        if (pk !== undefined && body.charCodeAt(i + pk.length) === 61 && body.startsWith(pk, i)) {
          lname = pk;
          i += pk.length;
        } else {
          if (!isNameStart(body.charCodeAt(i)))
            throw new MetricsParseError(lineNo, 'expected a label name', body.slice(start, lineEnd));
          while (i < lineEnd && isNameChar(body.charCodeAt(i))) i++;
          lname = body.slice(ls, i);
        }
        if (body.charCodeAt(i) !== 61 /* = */ || body.charCodeAt(i + 1) !== 34 /* " */) {
          throw new MetricsParseError(
            lineNo,
            `expected ="…" after label ${lname}`,
            body.slice(start, lineEnd),
          );
        }
        i += 2;
        const vs = i;
        const pv = prev?.[lname];
        if (
          pv !== undefined &&
          body.charCodeAt(vs + pv.length) === 34 &&
          body.startsWith(pv, vs) &&
          pv.indexOf('\\') < 0 &&
          pv.indexOf('"') < 0
        ) {
          // The same value as the previous sample's: reuse its string.
          labels[lname] = pv;
          i = vs + pv.length;
        } else {
          // Find the closing quote natively; only a value with a backslash needs the slow scan.
          const q = body.indexOf('"', vs);
          let raw = q < 0 || q >= lineEnd ? '' : body.slice(vs, q);
          if (q >= 0 && q < lineEnd && raw.indexOf('\\') < 0) {
            labels[lname] = raw;
            i = q;
          } else {
            while (i < lineEnd) {
              const c = body.charCodeAt(i);
              if (c === 92 /* \ */) {
                i += 2;
                continue;
              }
              if (c === 34) break;
              i++;
            }
            if (i >= lineEnd)
              throw new MetricsParseError(
                lineNo,
                `unterminated value of label ${lname}`,
                body.slice(start, lineEnd),
              );
            raw = body.slice(vs, i);
            labels[lname] = unescapeLabel(raw);
          }
        }
        i++;
        const c = body.charCodeAt(i);
        if (c === 44 /* , */) i++;
        else if (c !== 125)
          throw new MetricsParseError(
            lineNo,
            `expected , or } after label ${lname}`,
            body.slice(start, lineEnd),
          );
      }
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
    const sample: Sample = { name: sampleName, labels, value };
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
    if (lastKeys === undefined) lastKeys = Object.keys(labels);
  }
  return { families, eof };
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
      const keys = Object.keys(s.labels);
      const labels = keys.length
        ? `{${keys.map((k) => `${k}="${escapeLabel(s.labels[k] as string)}"`).join(',')}}`
        : '';
      out.push(`${s.name}${labels} ${valueText(s)}${s.timestamp !== undefined ? ` ${s.timestamp}` : ''}`);
    }
  }
  if (e.eof) out.push('# EOF');
  return out.length ? `${out.join('\n')}\n` : '';
}
