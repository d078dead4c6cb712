/**
 * Cold start: `egressctl --version` and `egressctl --help` against bare `node -e 0`, run alternately so
 * machine noise hits all three alike. Prints medians and ratios. Target: at most 1.3x node's own start.
 *
 *   npm run build && node --import tsx bench/cold-start.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/egressctl.js', import.meta.url));
const runs = Number(process.argv[2] ?? 40);
const cases: [string, string[]][] = [
  ['node -e 0', ['-e', '0']],
  ['egressctl --version', [bin, '--version']],
  ['egressctl --help', [bin, '--help']],
  ['egressctl egress route --help', [bin, 'egress', 'route', '--help']],
];
const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, args] of cases) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}`);
    times.get(name)?.push(ms);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const base = median(times.get('node -e 0') ?? []);
console.log(`cold start on node ${process.version}, ${runs} alternating runs each (median wall time)`);
for (const [name] of cases) {
  const m = median(times.get(name) ?? []);
  console.log(`  ${name.padEnd(32)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}x`);
}
