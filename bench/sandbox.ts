/**
 * Sandbox benchmarks: start-to-ready time (target under 1 s), and `egress stat --all` against a sandbox
 * with 500 simulated client pods (wall time and the CLI's peak RSS).
 *
 *   npm run build && node --import tsx bench/sandbox.ts [pods] [runs]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../src/sandbox/sandbox.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const pods = Number(process.argv[2] ?? 500);
const runs = Number(process.argv[3] ?? 3);

const starts: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const sb = await startSandbox({ tls: i % 2 === 1 });
  starts.push(performance.now() - t0);
  await sb.stop();
}
// The command as a user runs it: spawn to the printed banner.
const cmdStarts: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'bin/egressctl.js'), 'sandbox'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Press Ctrl-C')) resolve();
    });
  });
  cmdStarts.push(performance.now() - t0);
  await new Promise((r) => {
    child.on('close', r);
    child.kill('SIGINT');
  });
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(
  `sandbox start to ready (in-process, HTTP and HTTPS alternating): median ${med(starts).toFixed(0)} ms, max ${Math.max(...starts).toFixed(0)} ms`,
);
console.log(`egressctl sandbox, spawn to banner: median ${med(cmdStarts).toFixed(0)} ms (target < 1000 ms)`);

const sb = await startSandbox({ pods, rate: 2 });
const kc = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bench-')), 'kubeconfig');
sb.server.writeKubeconfig(kc, { namespace: 'egress-test', token: 'sandbox-token' });
console.log(`egress stat --all over ${pods} simulated pods, ${runs} runs, node ${process.version}`);
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const child = spawn(
    '/usr/bin/time',
    ['-f', '%M', process.execPath, path.join(root, 'bin/egressctl.js'), 'egress', 'stat', '--all'],
    {
      env: { ...process.env, KUBECONFIG: kc },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  console.log(
    `  run ${i + 1}: ${((performance.now() - t0) / 1000).toFixed(2)} s wall, peak RSS ${(Number(err.trim().split('\n').at(-1)) / 1024).toFixed(0)} MB, exit ${code}`,
  );
}
console.log(
  `  the sandbox process itself: RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB with ${pods} simulated proxies`,
);
await sb.stop();
