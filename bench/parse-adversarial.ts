/**
 * Parse time and peak RSS for each adversarial shape (issue 10): long lines, huge values, escape-heavy
 * values, many labels, many families. Each shape runs in a fresh child process, so its peak RSS is its
 * own; the body is built first and the high-water mark reset (Linux /proc/self/clear_refs), so the
 * peak is the parse's. Every label of every sample is read, so lazy decoding hides nothing.
 * Targets: linear time; peak RSS over the process with the body loaded <= 3x the body.
 *
 *   node --import tsx bench/parse-adversarial.ts
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const parserJs = path.join(os.tmpdir(), 'egressctl-bench-parse-adversarial.cjs');
const { buildSync } = await import('esbuild');
buildSync({
  entryPoints: [path.join(root, 'src/metrics/parse.ts')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  outfile: parserJs,
  logLevel: 'warning',
});

const MB = 1 << 20;
// Each shape: JavaScript that builds `body` in the child.
const shapes: [string, string][] = [
  ['long malformed line, 1 MB of blanks', `'x 1\\nx{a="b"' + ' '.repeat(${MB}) + '\\n'`],
  ['long malformed line, 16 MB of blanks', `'x 1\\nx{a="b"' + ' '.repeat(${16 * MB}) + '\\n'`],
  ['unterminated value, 16 MB', `'x{a="' + 'v'.repeat(${16 * MB}) + '\\n'`],
  ['huge value, 16 Mi characters', `'x{a="' + 'v'.repeat(${16 * MB}) + '"} 1\\n'`],
  [
    'huge values, 64 x 256 KB',
    `Array.from({ length: 64 }, (_, i) => 'x{i="' + i + '",a="' + 'v'.repeat(${MB / 4}) + '"} 1').join('\\n') + '\\n'`,
  ],
  ['escape-heavy value, 10 MB of \\\\\\\\', `'x{a="' + '\\\\\\\\'.repeat(${5 * MB}) + '"} 1\\n'`],
  ['escape-heavy value, 10 MB of \\\\n', `'x{a="' + '\\\\n'.repeat(${5 * MB}) + '"} 1\\n'`],
  [
    'escape-heavy lines, 100k x 100 B',
    `Array.from({ length: 100000 }, (_, i) => 'x{i="' + i + '",a="' + '\\\\"\\\\\\\\'.repeat(25) + '"} 1').join('\\n') + '\\n'`,
  ],
  [
    'many labels, one line of 200k labels',
    `'x{' + Array.from({ length: 200000 }, (_, i) => 'l' + i + '="v"').join(',') + '} 1\\n'`,
  ],
  [
    'many labels, 20k lines x 100 labels',
    `Array.from({ length: 20000 }, (_, j) => 'x{' + Array.from({ length: 100 }, (_, i) => 'l' + i + '="' + j + '"').join(',') + '} 1').join('\\n') + '\\n'`,
  ],
  [
    'many families, 200k with HELP and TYPE',
    `Array.from({ length: 200000 }, (_, i) => '# HELP f' + i + ' help\\n# TYPE f' + i + ' counter\\nf' + i + '_total{a="b"} ' + i).join('\\n') + '\\n# EOF\\n'`,
  ],
  [
    'repeated series, 200k copies of one',
    `Array.from({ length: 200000 }, () => 'x{a="b",c="d"} 1').join('\\n') + '\\n'`,
  ],
];

const child = (build: string) => `
const body = ${build};
const size = body.length;
const baseline = process.memoryUsage().rss;
let reset = false;
try { require('node:fs').writeFileSync('/proc/self/clear_refs', '5'); reset = true; } catch {}
const { parseMetrics } = require(${JSON.stringify(parserJs)});
const t0 = process.hrtime.bigint();
let outcome;
try {
  const e = parseMetrics(body);
  let n = 0, chars = 0;
  for (const f of e.families) for (const s of f.samples) { n++; for (const k in s.labels) chars += s.labels[k].length; }
  outcome = n + ' samples' + (e.duplicates ? ', ' + e.duplicates + ' repeats dropped' : '');
} catch (err) {
  outcome = err.constructor.name === 'MetricsParseError' ? 'error at line ' + err.line : 'UNCAUGHT ' + err.constructor.name + ': ' + err.message.slice(0, 60);
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ size, ms, baseline, peak: process.resourceUsage().maxRSS * 1024, reset, outcome }));
`;

const mb = (b: number) => (b / 1e6).toFixed(1);
console.log(`node ${process.version}; peak RSS is over the process with the body loaded`);
console.log(
  `${'shape'.padEnd(42)} ${'body'.padStart(8)} ${'parse'.padStart(9)} ${'peak RSS over'.padStart(14)}  ratio  outcome`,
);
let worst = 0;
for (const [name, build] of shapes) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', '-e', child(build)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: 120_000,
  });
  if (r.status !== 0) {
    console.log(
      `${name.padEnd(42)} FAILED: ${(r.stderr || r.signal || '').toString().split('\n').slice(0, 3).join(' ')}`,
    );
    continue;
  }
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as {
    size: number;
    ms: number;
    baseline: number;
    peak: number;
    reset: boolean;
    outcome: string;
  };
  const over = Math.max(0, j.peak - j.baseline);
  worst = Math.max(worst, over / j.size);
  console.log(
    `${name.padEnd(42)} ${`${mb(j.size)} MB`.padStart(8)} ${`${j.ms.toFixed(0)} ms`.padStart(9)} ${`${mb(over)} MB`.padStart(14)}  ${(over / j.size).toFixed(2).padStart(5)}x  ${j.outcome}${j.reset ? '' : ' (peak includes building the body)'}`,
  );
}
console.log(`worst peak RSS over the loaded body: ${worst.toFixed(2)}x the body (target <= 3x)`);
