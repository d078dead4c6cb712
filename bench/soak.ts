/**
 * The long fault soak (issue 11): `egress stat --watch -o json --by pod` in-process against the
 * sandbox's API server while pods come and go, proxies restart (counters reset), the API server
 * restarts on its port, and rounds meet stalls, resets mid-body, short bodies, proxy 500s, hung
 * port-forwards and 429/500/503 with Retry-After. Prints heap (after a full GC) and active handles
 * every 100 rounds, then the totals; exits 1 if any round did not hold. test/soak.test.ts runs the
 * same soak, shorter.
 *
 *   node --import tsx bench/soak.ts [rounds=2000] [seed=11]
 */
import { runSoak } from '../test/helpers/soak.js';

const rounds = Number(process.argv[2] ?? 2000);
const seed = Number(process.argv[3] ?? 11);
const t0 = performance.now();
const f = await runSoak({
  rounds,
  intervalMs: 5,
  podTimeoutMs: 1000,
  seed,
  onProgress: (round, x) => {
    const s = x.samples[x.samples.length - 1];
    console.log(
      `round ${String(round).padStart(5)}  ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s  heap ${s?.heapUsedMB.toFixed(1)} MB  handles ${s?.activeHandles}  rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
    );
  },
});
const { samples: _s, errorsNotNamingThePod, ...figures } = f;
console.log(JSON.stringify({ ...figures, errorsNotNamingThePod: [...errorsNotNamingThePod] }, null, 2));
console.log(
  `${f.rounds} rounds in ${(f.ms / 1000).toFixed(1)} s (${(f.ms / f.rounds).toFixed(1)} ms/round); heap ${f.heapUsedMB.atRound100} MB at round 100, ${f.heapUsedMB.atEnd} MB at the end; handles ${f.activeHandles.atRound100} -> ${f.activeHandles.atEnd}; requests seen ${f.requestsSeen} = served ${f.requestsServed}`,
);
process.exitCode = f.violations.length ? 1 : 0;
