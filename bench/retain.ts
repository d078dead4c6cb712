/**
 * What `egress stat` keeps in memory per scrape: N pods' bodies (the Deny fixture, a distinct string per
 * pod) parsed with the egress-family filter, with and without detachExposition. Prints the heap still
 * used after a full GC, and the time detaching adds. Parsed strings are slices of the body, so without
 * detaching every pod's whole body stays alive.
 *
 *   node --import tsx bench/retain.ts [pods]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { detachExposition, newInterner } from '../src/metrics/detach.js';
import { isEgressFamily } from '../src/metrics/egress.js';
import { parseMetrics, type Exposition } from '../src/metrics/parse.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = process.env.EGRESSCTL_FIXTURES ?? path.join(root, '../shared/fixtures');
const pods = Number(process.argv[2] ?? 200);
const base = fs.readFileSync(path.join(fixtures, 'proxy-metrics-deny.txt'), 'utf8');

function run(detach: boolean): { heapMB: number; ms: number; samples: number } {
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const kept: Exposition[] = [];
  const pool = newInterner();
  let ms = 0;
  for (let i = 0; i < pods; i++) {
    // A body of its own per pod, as each scrape is: the fixture's text in a fresh flat string.
    const body = Buffer.from(`# pod ${i}\n${base}`).toString();
    const e = parseMetrics(body, { keep: isEgressFamily });
    const t0 = process.hrtime.bigint();
    kept.push(detach ? detachExposition(e, pool) : e);
    ms += Number(process.hrtime.bigint() - t0) / 1e6;
  }
  gc();
  const heapMB = (process.memoryUsage().heapUsed - h0) / 1e6;
  const samples = kept.reduce((n, e) => n + e.families.reduce((m, f) => m + f.samples.length, 0), 0);
  return { heapMB, ms, samples };
}

const bodiesMB = (pods * Buffer.byteLength(base)) / 1e6;
console.log(
  `${pods} pods × ${(Buffer.byteLength(base) / 1e3).toFixed(0)} kB = ${bodiesMB.toFixed(1)} MB of bodies`,
);
for (const detach of [false, true, false, true]) {
  const r = run(detach);
  console.log(
    `  ${detach ? 'detached' : 'as parsed'}  ${String(r.samples).padStart(6)} egress-family samples kept, ` +
      `heap after GC +${r.heapMB.toFixed(1)} MB${detach ? `, detaching took ${r.ms.toFixed(0)} ms` : ''}`,
  );
}
