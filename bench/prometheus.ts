/**
 * `egress stat -A --prometheus` beside `egress stat -A` by port-forward, on the sandbox with 200, 1,000
 * and 2,000 simulated pods, all scraped by a real Prometheus (Debian's `prometheus`) relabelled as
 * linkerd-viz does. Prints wall time and the CLI's peak RSS for each. Target: the Prometheus path under
 * 1 s, flat as the pod count grows.
 *
 *   npm run build && node --import tsx bench/prometheus.ts [pod counts, e.g. 200,1000,2000] [runs]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../src/sandbox/sandbox.js';
import { prometheusBinary, startVizPrometheus } from '../src/sandbox/viz.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const counts = (process.argv[2] ?? '200,1000,2000').split(',').map(Number);
const runs = Number(process.argv[3] ?? 3);
if (!prometheusBinary()) {
  console.log('skipped: needs /usr/bin/prometheus (install the Debian package prometheus)');
  process.exit(0);
}

const once = (args: string[], kubeconfig: string) =>
  new Promise<{ ms: number; rssMb: number; rows: number; code: number | null; err: string }>(
    (resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const child = spawn(
        '/usr/bin/time',
        ['-f', '%M', process.execPath, path.join(root, 'bin/egressctl.js'), ...args],
        { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const lines = err.trim().split('\n');
        const kb = Number(lines.at(-1));
        let rows = -1;
        try {
          rows = (JSON.parse(out) as { rows: unknown[] }).rows.length;
        } catch {
          // not JSON: reported through code and err
        }
        resolve({ ms, rssMb: kb / 1024, rows, code, err: lines.slice(0, -1).join('\n') });
      });
    },
  );

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${runs} alternating runs per size`);
console.log('pods   source       wall median (min-max)        peak RSS   rows');
for (const pods of counts) {
  // A slow tick: 2,000 pods of traffic on a 2-core machine shared with Prometheus and the CLI.
  const sb = await startSandbox({ pods, rate: 1, tickMs: 1000 });
  const prom = await startVizPrometheus({ server: sb.server, world: sb.world, intervalS: 5 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bench-prom-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  sb.server.writeKubeconfig(kubeconfig, { namespace: 'egress-test', token: 'sandbox-token' });
  try {
    await prom.waitForScrapes({ n: 2, timeoutMs: 180_000 });
    const commands: [string, string[]][] = [
      ['prometheus', ['egress', 'stat', '-A', '--prometheus', prom.url, '-o', 'json']],
      ['pods', ['egress', 'stat', '-A', '-o', 'json', '--max-concurrency', '32', '--timeout', '120s']],
    ];
    const results = new Map<string, Awaited<ReturnType<typeof once>>[]>();
    for (let i = 0; i < runs; i++) {
      for (const [name, args] of commands) {
        const r = await once(args, kubeconfig);
        if (r.code !== 0) console.log(`  ${name} exited ${r.code}: ${r.err.split('\n')[0] ?? ''}`);
        results.set(name, [...(results.get(name) ?? []), r]);
      }
    }
    for (const [name, rs] of results) {
      const ms = rs.map((r) => r.ms);
      console.log(
        `${String(pods).padEnd(6)} ${name.padEnd(12)} ${`${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)})`.padEnd(28)} ${`${median(rs.map((r) => r.rssMb)).toFixed(0)} MB`.padEnd(10)} ${rs[0]?.rows ?? ''}`,
      );
    }
  } finally {
    await prom.stop();
    await sb.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
