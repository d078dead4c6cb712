/**
 * `egress stat -A --prometheus` beside `egress stat -A` by port-forward, on the sandbox with 200, 1,000
 * and 2,000 simulated pods, all scraped by a real Prometheus (Debian's `prometheus`) relabelled as
 * linkerd-viz does (every 10 s, viz's interval). Prints, for each: wall time, the CLI's own CPU
 * (user + system) and peak RSS, and for the Prometheus path the seconds Prometheus' engine spent on the
 * command's queries (the delta of its own `prometheus_engine_query_duration_seconds_sum`), which
 * separates what egressctl does from what the server does. Target: the Prometheus path under 1 s,
 * flat as the pod count grows.
 *
 * After two scrapes the proxies' bodies are frozen (each pod's next body is served from then on), so
 * the simulation's own work does not share the 2 cores with the measurement more than it must.
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

interface Run {
  ms: number;
  cpuMs: number;
  rssMb: number;
  rows: number;
  code: number | null;
  err: string;
  engineS?: number;
}

/** Seconds Prometheus' query engine has spent so far, over every slice (prepare, eval, queue, sort). */
async function engineSeconds(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let s = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('prometheus_engine_query_duration_seconds_sum')) s += Number(line.split(' ').at(-1));
  return s;
}

const once = (args: string[], kubeconfig: string) =>
  new Promise<Run>((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%U %S %M', process.execPath, path.join(root, 'bin/egressctl.js'), ...args],
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
      const [user = NaN, sys = NaN, kb = NaN] = (lines.at(-1) ?? '').split(' ').map(Number);
      let rows = -1;
      try {
        const j = JSON.parse(out) as { rows?: unknown[]; objects?: unknown[] };
        rows = (j.rows ?? j.objects ?? []).length;
      } catch {
        // not JSON: reported through code and err
      }
      resolve({
        ms,
        cpuMs: (user + sys) * 1000,
        rssMb: kb / 1024,
        rows,
        code,
        err: lines.slice(0, -1).join('\n'),
      });
    });
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${runs} alternating runs per size`);
console.log(
  'pods   source       wall median (min-max)        CLI CPU    peak RSS   Prometheus engine   rows/objects',
);
for (const pods of counts) {
  // A slow tick: 2,000 pods of traffic on a 2-core machine shared with Prometheus and the CLI.
  const sb = await startSandbox({ pods, rate: 1, tickMs: 1000 });
  const prom = await startVizPrometheus({ server: sb.server, world: sb.world, intervalS: 10 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bench-prom-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  sb.server.writeKubeconfig(kubeconfig, { namespace: 'egress-test', token: 'sandbox-token' });
  try {
    await prom.waitForScrapes({ n: 2, timeoutMs: 180_000 });
    const live = sb.server.metricsFor;
    const frozen = new Map<string, string | undefined>();
    sb.server.metricsFor = (ns, pod) => {
      const k = `${ns}/${pod}`;
      if (!frozen.has(k)) frozen.set(k, live?.(ns, pod));
      return frozen.get(k);
    };
    const commands: [string, string[]][] = [
      ['prometheus', ['egress', 'stat', '-A', '--prometheus', prom.url, '-o', 'json']],
      ['pods', ['egress', 'stat', '-A', '-o', 'json', '--max-concurrency', '32', '--timeout', '120s']],
      // learn reads one series per (row, pod): what grows with the pods on the client side.
      ['learn (prom)', ['egress', 'learn', '-A', '--prometheus', prom.url, '-o', 'json']],
    ];
    const results = new Map<string, Run[]>();
    for (let i = 0; i < runs; i++) {
      for (const [name, args] of commands) {
        const prometheus = name !== 'pods';
        const before = prometheus ? await engineSeconds(prom.url) : 0;
        const r = await once(args, kubeconfig);
        if (prometheus) r.engineS = (await engineSeconds(prom.url)) - before;
        if (r.code !== 0) console.log(`  ${name} exited ${r.code}: ${r.err.split('\n')[0] ?? ''}`);
        results.set(name, [...(results.get(name) ?? []), r]);
      }
    }
    for (const [name, rs] of results) {
      const ms = rs.map((r) => r.ms);
      const engine = rs.map((r) => r.engineS).filter((x) => x !== undefined);
      console.log(
        `${String(pods).padEnd(6)} ${name.padEnd(12)} ${`${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)})`.padEnd(28)} ${`${median(rs.map((r) => r.cpuMs)).toFixed(0)} ms`.padEnd(10)} ${`${median(rs.map((r) => r.rssMb)).toFixed(0)} MB`.padEnd(10)} ${(engine.length ? `${(median(engine) * 1000).toFixed(0)} ms` : '').padEnd(19)} ${rs[0]?.rows ?? ''}`,
      );
    }
  } finally {
    await prom.stop();
    await sb.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
