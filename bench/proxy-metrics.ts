/**
 * `egressctl proxy-metrics --all` and `egressctl egress stat --all` over 200 pods, each serving the 400 KB egress fixture, through the
 * sandbox API server (HTTPS, port-forward over WebSocket). Prints wall time and the CLI's peak RSS.
 * Targets on a 2-core machine: under 5 s, and peak RSS under 300 MB.
 *
 *   npm run build && node --import tsx bench/proxy-metrics.ts [pods] [runs] [-- extra CLI args]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../src/sandbox/apiserver.js';
import { World } from '../src/sandbox/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = process.env.EGRESSCTL_FIXTURES ?? path.join(root, '../shared/fixtures');
const dashdash = process.argv.indexOf('--');
const positional = process.argv.slice(2, dashdash < 0 ? undefined : dashdash);
const extra = dashdash < 0 ? [] : process.argv.slice(dashdash + 1);
const pods = Number(positional[0] ?? 200);
const runs = Number(positional[1] ?? 3);
const body = fs.readFileSync(path.join(fixtures, 'proxy-metrics-egress.txt'), 'utf8');

const server = await startApiServer({ token: 'bench', metrics: () => body });
const world = new World(server.store);
for (let i = 0; i < pods; i++) world.pod('bench', `client-${String(i).padStart(4, '0')}`);
const kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bench-')), 'kubeconfig');
server.writeKubeconfig(kubeconfig, { namespace: 'bench', token: 'bench' });

const once = (args: string[]) =>
  new Promise<{ ms: number; rssMb: number; bytes: number; code: number | null }>((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%M', process.execPath, path.join(root, 'bin/egressctl.js'), ...args],
      {
        env: { ...process.env, KUBECONFIG: kubeconfig },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let bytes = 0;
    let err = '';
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const kb = Number(err.trim().split('\n').at(-1));
      resolve({ ms, rssMb: kb / 1024, bytes, code });
    });
  });

// The two commands alternate, so machine noise hits both alike.
const commands = [
  ['proxy-metrics', '--all', ...extra],
  ['egress', 'stat', '--all', ...extra],
];
console.log(
  `${pods} pods x ${(body.length / 1024).toFixed(0)} KB through the sandbox API server, node ${process.version}, ${runs} alternating runs`,
);
for (let i = 0; i < runs; i++) {
  for (const args of commands) {
    const r = await once(args);
    console.log(
      `  ${args.join(' ').padEnd(28)} run ${i + 1}: ${(r.ms / 1000).toFixed(2)} s wall, peak RSS ${r.rssMb.toFixed(0)} MB, ${(r.bytes / 1e6).toFixed(1)} MB out, exit ${r.code}`,
    );
  }
}
await server.close();
