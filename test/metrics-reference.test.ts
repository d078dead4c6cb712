/**
 * The parser against a reference nobody here wrote: Debian's python3-prometheus-client (/usr/bin/python3),
 * its text parser (`prometheus_client.parser`) for the legacy section and its OpenMetrics parser
 * (`prometheus_client.openmetrics.parser`) for the OpenMetrics section. Samples (name, labels, value)
 * must be equal on every fixture and on thousands of generated bodies. Python runs once per batch: one
 * process reads every body as a JSON line on stdin and answers one JSON line each.
 *
 * Where the references differ from each other, the test follows Prometheus (model/textparse/promlex.l,
 * promparse.go, openmetricsparse.go) and keeps those inputs out of the comparison, each reason below;
 * test/metrics-prometheus.test.ts pins what egressctl does with them.
 * - python's text parser renames the samples of a legacy counter `x` to `x_total`
 *   (prometheus_client/parser.py builds a CounterMetricFamily, which names its samples `_total`);
 *   Prometheus stores the name as written. The comparison maps such names back to the wire's.
 * - python keeps every sample of a repeated series; Prometheus appends the first and drops the rest
 *   (the head appender refuses a second sample of a series at the same timestamp). The comparison
 *   drops python's repeats, keeping the first.
 * - python reads a value with float(): it also takes `1_000`, `+nan` and `1e400` (as inf), which Go's
 *   ParseFloat, as Prometheus calls it, refuses. Not generated.
 * - python's text parser takes the value two characters after `}` (`x{a="b"}1` loses the 1);
 *   Prometheus' lexer needs no blank there. Not generated: a blank always follows `}`.
 * - python strips every line, so it reads `x 1\r` as 1; Prometheus' lexer only breaks lines at `\n`
 *   and fails on the value `1\r`. egressctl drops a CR before `\n` and refuses any other. No CR here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { parseMetrics } from '../src/metrics/parse.js';
import { fixture } from './helpers/cluster.js';

const PYTHON = '/usr/bin/python3';
const hasReference =
  spawnSync(PYTHON, ['-c', 'import prometheus_client.parser, prometheus_client.openmetrics.parser'], {
    stdio: 'ignore',
  }).status === 0;
const skip = hasReference
  ? false
  : 'needs python3-prometheus-client (Debian package): /usr/bin/python3 cannot import prometheus_client';

/** Reads {"legacy": text, "om": text | null} lines; writes {"samples": [[name, labels, repr(value)]]}. */
const REFERENCE = String.raw`
import json, sys
from prometheus_client.parser import text_string_to_metric_families as legacy
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
for line in sys.stdin:
    job = json.loads(line)
    try:
        out = []
        for parse, text in ((legacy, job["legacy"]), (openmetrics, job["om"])):
            if text is None:
                continue
            for family in parse(text):
                for s in family.samples:
                    out.append([s.name, s.labels, repr(float(s.value))])
        print(json.dumps({"samples": out}))
    except Exception as e:
        print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
    sys.stdout.flush()
`;

type Triple = [string, Record<string, string>, number];

function reference(
  jobs: { legacy: string; om: string | null }[],
): ({ samples: Triple[] } | { error: string })[] {
  const r = spawnSync(PYTHON, ['-c', REFERENCE], {
    input: jobs.map((j) => JSON.stringify(j)).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const j = JSON.parse(l) as { samples?: [string, Record<string, string>, string][]; error?: string };
      if (j.error !== undefined) return { error: j.error };
      return {
        samples: (j.samples ?? []).map(([n, l, v]): Triple => [
          n,
          l,
          v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v),
        ]),
      };
    });
}

const seriesId = ([n, l]: Triple) =>
  JSON.stringify([
    n,
    Object.keys(l)
      .sort()
      .map((k) => [k, l[k]]),
  ]);

/** Prometheus' view of python's samples: the first of each series, in a canonical order. */
function firstOfEach(samples: Triple[]): Triple[] {
  const seen = new Set<string>();
  return samples.filter((s) => !seen.has(seriesId(s)) && seen.add(seriesId(s))).sort(bySeries);
}
const bySeries = (a: Triple, b: Triple) =>
  seriesId(a) < seriesId(b) ? -1 : seriesId(a) > seriesId(b) ? 1 : 0;

function ours(body: string): Triple[] {
  const e = parseMetrics(body);
  return e.families.flatMap((f) => f.samples.map((s): Triple => [s.name, { ...s.labels }, s.value]));
}

/** The body split where the parser says its OpenMetrics section starts. */
function sections(body: string): { legacy: string; om: string | null } {
  const at = parseMetrics(body).openMetricsLine;
  if (at === undefined) return { legacy: body, om: null };
  const lines = body.split('\n');
  return { legacy: `${lines.slice(0, at - 1).join('\n')}\n`, om: lines.slice(at - 1).join('\n') };
}

function assertSame(body: string, ref: { samples: Triple[] } | { error: string }, what: string) {
  const shown = body.length > 3000 ? `${body.slice(0, 3000)}...` : body;
  assert.ok('samples' in ref, `${what}: python refused it (${'error' in ref ? ref.error : ''}):\n${shown}`);
  // The sample names on the wire, to undo python's `_total` renaming of legacy counters.
  const wire = new Set(
    body
      .split('\n')
      .filter((l) => !/^[ \t]*#/.test(l))
      .map((l) => /^[ \t]*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(l)?.[1]),
  );
  const named = ref.samples.map(([n, l, v]): Triple => [
    !wire.has(n) && n.endsWith('_total') && wire.has(n.slice(0, -6)) ? n.slice(0, -6) : n,
    l,
    v,
  ]);
  // Compared as sets of (series, value): the parser groups a family's samples, python yields wire order.
  const key = ([n, l, v]: Triple) => `${seriesId([n, l, v])}=${String(v)}`;
  const theirs = new Set(firstOfEach(named).map(key));
  const mine = new Set(ours(body).map(key));
  const onlyMine = [...mine].filter((x) => !theirs.has(x));
  const onlyTheirs = [...theirs].filter((x) => !mine.has(x));
  assert.deepEqual(
    { onlyMine: onlyMine.slice(0, 5), onlyTheirs: onlyTheirs.slice(0, 5), count: mine.size },
    { onlyMine: [], onlyTheirs: [], count: theirs.size },
    `${what}:\n${shown}`,
  );
}

test('every fixture: the same samples as python prometheus_client, section by section', { skip }, () => {
  const names = [
    'proxy-metrics-egress.txt',
    'proxy-metrics-deny.txt',
    'linkerd2_prommatch_sampleMetrics.txt',
    'linkerd2_obfuscate-diagnostics-proxy-metrics.input.txt',
  ];
  const bodies = names.map((n) => fixture(n));
  const refs = reference(bodies.map(sections));
  bodies.forEach((body, i) => {
    assertSame(body, refs[i] as { samples: Triple[] }, names[i] as string);
    assert.ok(ours(body).length > 0);
  });
  // The two synthetic fixtures have both sections; the boundary is their first prometheus-client family.
  assert.ok(sections(bodies[0] as string).om?.startsWith('# HELP '));
});

// ── generated bodies ──
// A label value as wire text: plain characters and escapes, including ones Prometheus keeps as written
// (`\t`, `\x`), values of only escapes, and the characters a label block is made of.
const plainChar = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    fc.constantFrom('{', '}', ',', '=', ' ', '\t', '#', 'é', '😀', '\u2028'),
  )
  .filter((c) => !/[\\"\n\r]/.test(c));
const wireValue = fc
  .array(fc.oneof(plainChar, fc.constantFrom('\\\\', '\\"', '\\n', '\\t', '\\x', '\\\\n', '\\u0041')), {
    maxLength: 8,
  })
  .map((parts) => parts.join(''));
const labelName = fc.oneof(
  fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,6}$/),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '__name__'),
);
const labelSet = fc.uniqueArray(fc.tuple(labelName, wireValue), {
  maxLength: 4,
  selector: ([n]) => n,
});
// Spellings both Go's ParseFloat and python's float() read the same way.
const oddValue = fc.oneof(
  fc.nat().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom(
    'Inf',
    '+Inf',
    '-Inf',
    'inf',
    '+inf',
    '-inf',
    'Infinity',
    '-infinity',
    'NaN',
    'nan',
    'NAN',
    '1e3',
    '1E-7',
    '.5',
    '5.',
    '+5',
    '-0',
    '007',
    '0.0',
    '1.0',
    '-1.5e+300',
  ),
);
const blank = fc.constantFrom('', '', '', ' ', '  ', '\t');

/** A legacy label block with blanks anywhere Prometheus allows them and maybe a trailing comma. */
const legacyBlock = (labels: [string, string][]) =>
  fc
    .tuple(
      fc.array(blank, { minLength: 4 * labels.length + 2, maxLength: 4 * labels.length + 2 }),
      fc.boolean(),
    )
    .map(([b, trailing]) => {
      if (labels.length === 0) return b[0] === '' ? '' : `{${b[1]}}`;
      const parts = labels.map(
        ([n, v], i) => `${b[4 * i]}${n}${b[4 * i + 1]}=${b[4 * i + 2]}"${v}"${b[4 * i + 3]}`,
      );
      return `{${parts.join(',')}${trailing ? ',' : ''}${b.at(-1)}}`;
    });

const legacyFamily = fc.record({
  type: fc.constantFrom('counter', 'gauge', 'untyped', 'summary'),
  series: fc.array(fc.tuple(labelSet, oddValue, fc.option(fc.constantFrom('1700000000000', '0'))), {
    minLength: 1,
    maxLength: 4,
  }),
  // Repeat one series (the same line text, another value is not needed): kept once.
  repeat: fc.option(fc.nat(), { nil: undefined }),
  sep: fc.constantFrom(' ', '  ', '\t'),
});
const omFamily = fc.record({
  type: fc.constantFrom('counter', 'gauge'),
  series: fc.uniqueArray(fc.tuple(labelSet, oddValue), {
    minLength: 1,
    maxLength: 4,
    selector: ([l]) => JSON.stringify([...l].sort()),
  }),
});

const body = fc
  .tuple(fc.array(legacyFamily, { maxLength: 4 }), fc.array(omFamily, { maxLength: 3 }))
  .chain(([legacy, om]) =>
    fc.tuple(
      fc.constant(legacy),
      fc.constant(om),
      fc.tuple(...legacy.map((f) => fc.tuple(...f.series.map(([l]) => legacyBlock(l)), legacyBlock([])))),
    ),
  )
  .map(([legacy, om, blocks]) => {
    const lines: string[] = [];
    legacy.forEach((f, i) => {
      const name = `l${i}_${f.type}`;
      const fb = blocks[i] as string[];
      if (f.type !== 'untyped') lines.push(`# HELP ${name} help \\\\ \\n "q"`, `# TYPE ${name} ${f.type}`);
      const sample = f.type === 'summary' ? `${name}_sum` : name;
      const line = (k: number) => {
        const [, v, ts] = f.series[k] as [unknown, string, string | null];
        // The timestamp after the same blank: python picks one separator per line.
        return `${sample}${fb[k]}${f.sep}${v}${ts ? `${f.sep}${ts}` : ''}`;
      };
      f.series.forEach((_, k) => lines.push(line(k)));
      if (f.repeat !== undefined) lines.push(line(f.repeat % f.series.length));
    });
    const legacyText = lines.length ? `${lines.join('\n')}\n` : '';
    const omLines: string[] = [];
    om.forEach((f, i) => {
      const name = `o${i}_${f.type}`;
      omLines.push(`# HELP ${name} help \\\\ \\n \\"q\\".`, `# TYPE ${name} ${f.type}`);
      for (const [l, v] of f.series) {
        // Counters are never negative or NaN in OpenMetrics; both OpenMetrics parsers refuse them.
        const value = f.type === 'counter' && /nan|^-/i.test(v) ? '1' : v;
        const block = l.length ? `{${l.map(([n, x]) => `${n}="${x}"`).join(',')}}` : '';
        omLines.push(`${name}${f.type === 'counter' ? '_total' : ''}${block} ${value}`);
      }
    });
    const omText = om.length ? `${omLines.join('\n')}\n# EOF\n` : null;
    return { legacy: legacyText, om: omText };
  });

test(
  'generated bodies (escapes, odd floats, adversarial labels, blanks, repeats): python prometheus_client agrees',
  { skip },
  () => {
    const jobs = fc.sample(body, { numRuns: 3000, seed: 20261201 });
    const refs = reference(jobs);
    assert.equal(refs.length, jobs.length);
    let repeats = 0;
    let escapes = 0;
    jobs.forEach((job, i) => {
      const text = job.legacy + (job.om ?? '');
      assertSame(text, refs[i] as { samples: Triple[] }, `generated body ${i}`);
      repeats += parseMetrics(text).duplicates ?? 0;
      if (text.includes('\\t')) escapes++;
    });
    // The generator did reach the cases it is for.
    assert.ok(repeats > 100, `repeats: ${repeats}`);
    assert.ok(escapes > 100, `bodies with \\t: ${escapes}`);
  },
);
