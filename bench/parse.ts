/**
 * Parser benchmark: the scaled body (shared/fixtures/tools/scale-body.mjs 232: ~107k lines, ~37 MB)
 * parsed by egressctl's parser and by parse-prometheus-text-format, alternately, each run in a fresh
 * child process so peak RSS belongs to one parser. Prints MB/s, the speed ratio and peak RSS.
 * Targets: >= 4x the package's speed; peak RSS <= 3x the body size.
 *
 * With a git ref (BASELINE=main, the default), that ref's parser runs alongside, for before/after
 * figures from one run; BASELINE= (empty) leaves it out.
 *
 *   node --import tsx bench/parse.ts [rounds]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = process.env.EGRESSCTL_FIXTURES ?? path.join(root, '../shared/fixtures');
const rounds = Number(process.argv[2] ?? 3);
const bodyFile = path.join(os.tmpdir(), 'egressctl-bench-body.txt');
if (!fs.existsSync(bodyFile)) {
  fs.writeFileSync(
    bodyFile,
    execFileSync(process.execPath, [path.join(fixtures, 'tools/scale-body.mjs'), '232'], {
      maxBuffer: 1 << 30,
    }),
  );
}
const size = fs.statSync(bodyFile).size;
const lines = fs.readFileSync(bodyFile, 'utf8').split('\n').length;

// The parser, bundled to plain JavaScript, so the children run without a TypeScript loader (which would
// add its own memory to the peak RSS measured).
const parserJs = path.join(os.tmpdir(), 'egressctl-bench-parse.cjs');
const { buildSync } = await import('esbuild');
buildSync({
  entryPoints: [path.join(root, 'src/metrics/parse.ts')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  outfile: parserJs,
  logLevel: 'warning',
});

// The baseline ref's parser, bundled the same way.
const baseline = process.env.BASELINE ?? 'main';
const baselineJs = path.join(os.tmpdir(), 'egressctl-bench-parse-baseline.cjs');
if (baseline) {
  const src = path.join(os.tmpdir(), 'egressctl-bench-parse-baseline.ts');
  fs.writeFileSync(
    src,
    execFileSync('git', ['show', `${baseline}:src/metrics/parse.ts`], { cwd: root, encoding: 'utf8' }),
  );
  buildSync({
    entryPoints: [src],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    outfile: baselineJs,
    logLevel: 'warning',
  });
}

type Which = 'read only' | 'egressctl' | 'egressctl+labels' | 'baseline' | 'baseline+labels' | 'pptf';

// Each child: read the body, parse once (timed), report time, samples and peak RSS.
const child = (which: Which) => `
const fs = require('node:fs');
const body = fs.readFileSync(${JSON.stringify(bodyFile)}, 'utf8');
const baseline = process.memoryUsage().rss;
// Reading peaks at twice the body (buffer + string) before any parser runs, which would hide the parser's
// own peak. On Linux, writing 5 to clear_refs resets the high-water mark that maxRSS reports to the
// current RSS, so the peak below is the parse's (elsewhere it includes the read).
let reset = false;
try { fs.writeFileSync('/proc/self/clear_refs', '5'); reset = true; } catch {}
const run = ${
  which === 'read only'
    ? // The baseline: reading the file as a string alone peaks at about twice its size.
      `() => 0`
    : which === 'pptf'
      ? `() => { const r = require(${JSON.stringify(path.join(root, 'node_modules/parse-prometheus-text-format'))})(body); return r.reduce((n, f) => n + f.metrics.length, 0); }`
      : which === 'egressctl' || which === 'baseline'
        ? `() => { const { parseMetrics } = require(${JSON.stringify(which === 'baseline' ? baselineJs : parserJs)}); const e = parseMetrics(body); return e.families.reduce((n, f) => n + f.samples.length, 0); }`
        : // Labels are decoded on first read: this also reads every label of every sample.
          `() => { const { parseMetrics } = require(${JSON.stringify(which === 'baseline+labels' ? baselineJs : parserJs)}); const e = parseMetrics(body); let n = 0; for (const f of e.families) for (const s of f.samples) n += Object.keys(s.labels).length > 0 ? 1 : 1; return n; }`
};
const t0 = process.hrtime.bigint();
const n = run();
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ ms, n, baseline, peak: process.resourceUsage().maxRSS * 1024, reset }));
`;

let peakFromParse = true;
const results: Record<string, { ms: number[]; peak: number[]; baseline: number[]; n: number }> = {};
for (let i = 0; i < rounds; i++) {
  const all: Which[] = ['read only', 'egressctl', 'egressctl+labels', 'pptf'];
  if (baseline) all.splice(3, 0, 'baseline', 'baseline+labels');
  for (const which of all) {
    const r = spawnSync(process.execPath, ['-e', child(which)], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) throw new Error(`${which}: ${r.stderr}`);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as {
      ms: number;
      n: number;
      baseline: number;
      peak: number;
      reset: boolean;
    };
    peakFromParse &&= j.reset;
    const acc = (results[which] ??= { ms: [], peak: [], baseline: [], n: j.n });
    acc.ms.push(j.ms);
    acc.peak.push(j.peak);
    acc.baseline.push(j.baseline);
  }
}
console.log(
  peakFromParse
    ? 'peak RSS: from the parse on (the high-water mark was reset after reading the file)'
    : 'peak RSS: includes reading the file (no /proc/self/clear_refs here), about 2x the body',
);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const mb = (b: number) => (b / 1e6).toFixed(1);
console.log(
  `body: ${mb(size)} MB, ${lines} lines; ${rounds} alternating cold runs each (median), node ${process.version}`,
);
for (const [which, r] of Object.entries(results)) {
  const ms = med(r.ms);
  const speed =
    which === 'read only'
      ? '      -          -       '
      : `${ms.toFixed(0).padStart(6)} ms  ${(size / 1e6 / (ms / 1000)).toFixed(1).padStart(6)} MB/s`;
  const label = which.startsWith('baseline') ? which.replace('baseline', baseline) : which;
  console.log(
    `  ${label.padEnd(16)} ${speed}  ${String(r.n).padStart(7)} samples  peak RSS ${mb(med(r.peak))} MB (${(med(r.peak) / size).toFixed(2)}x body; ${mb(med(r.peak) - med(r.baseline))} MB over the process with the body loaded)`,
  );
}
const theirs = med((results.pptf as { ms: number[] }).ms);
for (const which of [
  'egressctl',
  'egressctl+labels',
  ...(baseline ? (['baseline', 'baseline+labels'] as const) : []),
]) {
  if (!results[which]) continue;
  console.log(
    `  speed ratio, ${which.replace('baseline', baseline)}: ${(theirs / med((results[which] as { ms: number[] }).ms)).toFixed(2)}x parse-prometheus-text-format (target >= 4x)`,
  );
}
