/**
 * `egressctl proxy-metrics --all` and `egressctl egress stat --all` over 200 pods, each serving the 400 KB egress fixture, through the
 * sandbox API server (HTTPS, port-forward over WebSocket). Prints wall time, the CLI's own CPU time (user + system, as
 * /usr/bin/time reports it for the spawned CLI alone: the sandbox runs in this process, not the child's) per pod, and its
 * peak RSS. Targets on a 2-core machine: under 5 s, peak RSS under 300 MB, and 4 ms of CPU per pod for stat.
 *
 * `--base DIR` also runs the build in DIR (a git worktree of an older commit, built there) alternately with
 * this one, so a before/after comparison sees the same machine noise.
 *
 *   npm run build && node --import tsx bench/proxy-metrics.ts [pods] [runs] [--base DIR] [-- extra CLI args]
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
let args = process.argv.slice(2, dashdash < 0 ? undefined : dashdash);
const extra = dashdash < 0 ? [] : process.argv.slice(dashdash + 1);
const baseAt = args.indexOf('--base');
const base = baseAt < 0 ? undefined : args[baseAt + 1];
if (baseAt >= 0) args = args.filter((_, i) => i !== baseAt && i !== baseAt + 1);
const pods = Number(args[0] ?? 200);
const runs = Number(args[1] ?? 3);
const body = fs.readFileSync(path.join(fixtures, 'proxy-metrics-egress.txt'), 'utf8');

const server = await startApiServer({ token: 'bench', metrics: () => body });
const world = new World(server.store);
for (let i = 0; i < pods; i++) world.pod('bench', `client-${String(i).padStart(4, '0')}`);
const kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bench-')), 'kubeconfig');
server.writeKubeconfig(kubeconfig, { namespace: 'bench', token: 'bench' });

interface Run {
  ms: number;
  cpuMs: number;
  rssMb: number;
  bytes: number;
  code: number | null;
}

const once = (build: string, cli: string[]) =>
  new Promise<Run>((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // %U and %S are the child's own user and system seconds; %M its peak RSS in KB.
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%M %U %S', process.execPath, path.join(build, 'bin/egressctl.js'), ...cli],
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
      const [kb, user, sys] = (err.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
      resolve({ ms, cpuMs: ((user ?? NaN) + (sys ?? NaN)) * 1000, rssMb: (kb ?? NaN) / 1024, bytes, code });
    });
  });

// The commands (and builds) alternate, so machine noise hits all alike.
const commands = [
  ['proxy-metrics', '--all', ...extra],
  ['egress', 'stat', '--all', ...extra],
];
const builds: [string, string][] = [
  ...(base ? [['base', path.resolve(base)] as [string, string]] : []),
  ['this', root],
];
console.log(
  `${pods} pods x ${(body.length / 1024).toFixed(0)} KB through the sandbox API server, node ${process.version}, ${runs} alternating runs`,
);
const all = new Map<string, Run[]>();
for (let i = 0; i < runs; i++) {
  for (const args of commands) {
    for (const [name, dir] of builds) {
      const r = await once(dir, args);
      const key = `${name.padEnd(4)} ${args.join(' ')}`;
      all.set(key, [...(all.get(key) ?? []), r]);
      console.log(
        `  ${key.padEnd(33)} run ${i + 1}: ${(r.ms / 1000).toFixed(2)} s wall, CPU ${(r.cpuMs / 1000).toFixed(2)} s = ${(r.cpuMs / pods).toFixed(1)} ms/pod, peak RSS ${r.rssMb.toFixed(0)} MB, ${(r.bytes / 1e6).toFixed(1)} MB out, exit ${r.code}`,
      );
    }
  }
}
console.log('median of the runs:');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
for (const [key, rs] of all) {
  console.log(
    `  ${key.padEnd(33)} ${(median(rs.map((r) => r.ms)) / 1000).toFixed(2)} s wall, CPU ${(median(rs.map((r) => r.cpuMs)) / pods).toFixed(1)} ms/pod, peak RSS ${median(rs.map((r) => r.rssMb)).toFixed(0)} MB`,
  );
}
await server.close();
