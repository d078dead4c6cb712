/**
 * `egressctl egress route http … --dry-run=client -o yaml` against
 * `kubectl create deployment x --image=y --dry-run=client -o yaml`, run alternately; prints medians and
 * the ratio. Target: at most 1.5x kubectl's time. Needs kubectl on PATH.
 *
 *   npm run build && node --import tsx bench/route-vs-kubectl.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/egressctl.js', import.meta.url));
const runs = Number(process.argv[2] ?? 30);
const env = { ...process.env, KUBECONFIG: '/nonexistent' };
const cases: [string, string, string[]][] = [
  [
    'egressctl egress route http … --dry-run=client -o yaml',
    process.execPath,
    [
      bin,
      'egress',
      'route',
      'http',
      'httpbin-get',
      '-n',
      'egress-test',
      '--port',
      '80',
      '--hostname',
      'httpbin.org',
      '--path',
      '/get',
      '--method',
      'GET',
      '--dry-run=client',
      '-o',
      'yaml',
    ],
  ],
  [
    'kubectl create deployment … --dry-run=client -o yaml',
    'kubectl',
    ['create', 'deployment', 'x', '--image=y', '--dry-run=client', '-o', 'yaml'],
  ],
];
const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, cmd, args] of cases) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.error) throw new Error(`${cmd}: ${r.error.message} (is kubectl installed?)`);
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr.toString()}`);
    times.get(name)?.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const [ours, theirs] = cases.map(([n]) => med(times.get(n) ?? []));
console.log(`${runs} alternating runs each (median wall time), node ${process.version}`);
for (const [name] of cases)
  console.log(
    `  ${name.padEnd(56)} ${med(times.get(name) ?? [])
      .toFixed(1)
      .padStart(7)} ms`,
  );
console.log(`  ratio: ${((ours as number) / (theirs as number)).toFixed(2)}x kubectl (target <= 1.5x)`);
