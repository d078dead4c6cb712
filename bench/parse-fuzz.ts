/**
 * The parser fuzz, long: the same bodies and checks as the bounded run in
 * test/metrics-prometheus.test.ts (test/helpers/metrics-fuzz.ts), for many more runs and a fresh seed.
 * A failure prints fast-check's shrunk counterexample and its seed.
 *
 *   node --import tsx bench/parse-fuzz.ts [runs] [seed]
 */
import fc from 'fast-check';
import { checkOne, fuzzBody } from '../test/helpers/metrics-fuzz.js';

const runs = Number(process.argv[2] ?? 200_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const t = performance.now();
fc.assert(
  fc.property(fuzzBody, (b) => checkOne(b)),
  { numRuns: runs, seed },
);
console.log(
  `parse fuzz: ${runs} bodies, seed ${seed}, no failure, ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
