/**
 * `egress learn` over a sandbox with 500 simulated client pods: the built CLI as a user runs it
 * (scrape every pod, build the ledger, learn, prove with the plan replay, print), its wall time and peak
 * RSS. Totals (no --interval), so the scrape is one round.
 *
 *   npm run build && node --import tsx bench/learn.ts [pods] [runs]
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

const sb = await startSandbox({ pods, rate: 2 });
const kc = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bench-')), 'kubeconfig');
sb.server.writeKubeconfig(kc, { namespace: 'egress-test', token: 'sandbox-token' });
// Let every proxy count some traffic first.
await new Promise((r) => setTimeout(r, 1500));
console.log(`egress learn --all over ${pods} simulated pods, ${runs} runs, node ${process.version}`);
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const child = spawn(
    '/usr/bin/time',
    [
      '-f',
      '%M',
      process.execPath,
      path.join(root, 'bin/egressctl.js'),
      'egress',
      'learn',
      '--all',
      '-o',
      'json',
    ],
    { env: { ...process.env, KUBECONFIG: kc }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const objects = code === 0 ? (JSON.parse(out) as { objects: unknown[] }).objects.length : 0;
  console.log(
    `  run ${i + 1}: ${((performance.now() - t0) / 1000).toFixed(2)} s wall, peak RSS ${(Number(err.trim().split('\n').at(-1)) / 1024).toFixed(0)} MB, ${objects} objects, exit ${code}${code ? `: ${err.split('\n')[0] ?? ''}` : ''}`,
  );
}
await sb.stop();
