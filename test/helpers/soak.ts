// The fault soak: `egress stat --watch -o json --by pod` run in-process (its validate() then run(), with
// deps) against the sandbox's API server, while a simulator makes pods appear and vanish, restarts
// their proxies (counters back to zero), restarts the API server on its port and injects a fault into
// some rounds: a stalled or reset response, a short body, a proxy 500, a port-forward that never
// answers, 429/500/503 with Retry-After. Each rendered round is checked against the simulator's own
// counts. Shared by test/soak.test.ts (bounded) and bench/soak.ts (long).
import v8 from 'node:v8';
import vm from 'node:vm';
import * as egressStat from '../../src/commands/egress-stat.js';
import type { Deps } from '../../src/deps.js';
import { errorMessage } from '../../src/errors.js';
import { connect } from '../../src/kube/rest.js';
import type { StatReport } from '../../src/metrics/stat.js';
import type { CannedAnswer, PodFault } from '../../src/sandbox/apiserver.js';
import { ProxySim, type TrafficRecord } from '../../src/sandbox/proxy-sim.js';
import { SERVED } from '../../src/sandbox/resources.js';
import { startCluster } from './cluster.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const NS = 'soak';
const POD = SERVED.find((r) => r.kind === 'Pod' && r.group === '')!;

export interface SoakOptions {
  rounds: number;
  /** The watch interval: run() is given it directly, below the CLI's 1s minimum. */
  intervalMs: number;
  /** --pod-timeout: what a stalled pod costs its round. */
  podTimeoutMs?: number;
  seed?: number;
  /** Called every 100 rounds (the bench prints progress). */
  onProgress?: (round: number, f: SoakFigures) => void;
}

export type FaultKind =
  PodFault | 'stall' | 'reset-mid-body' | `answer-${CannedAnswer['status']}` | 'server-restart';

export interface SoakFigures {
  rounds: number;
  ms: number;
  /** Rounds whose output parsed as the StatReport. */
  rendered: number;
  /** Rounds with at least one failed pod, each named in `pods.failed` (and on stderr). */
  roundsWithFailures: number;
  podFailuresNamed: number;
  /** Faulted pods that rendered anyway (the client retried, or the fault did not bite). */
  faultsAbsorbed: number;
  faults: Partial<Record<FaultKind, number>>;
  proxyRestarts: number;
  podsAdded: number;
  podsRemoved: number;
  /** Pod-windows checked exactly against the simulator's counts. */
  windowsChecked: number;
  /** Requests the checked windows held, by stat and by the simulator (equal when correct). */
  requestsSeen: number;
  requestsServed: number;
  /**
   * Watches that ended because the pod list met the API server mid-restart (a reused keep-alive
   * connection the restart cut: "socket hang up"), each with one line naming the server; the soak then
   * starts a new watch. Without retries on idempotent GETs this happens to a few restarts in a hundred.
   */
  watchesEndedByRestart: number;
  /** Windows whose start scrape of the pod had failed: stat has no baseline for it (not asserted). */
  noBaseline: number;
  /** Of those, windows that showed the proxy's whole counter since it started, not the window's traffic. */
  noBaselineWholeCounter: number;
  /** Failure texts (the stderr warning) that do not name their pod: a finding for src/kube. */
  errorsNotNamingThePod: Set<string>;
  heapUsedMB: { atRound100: number; atEnd: number };
  /** Heap used after a full GC, and active handles, every 100 rounds: a leak shows as a steady climb. */
  samples: { round: number; heapUsedMB: number; activeHandles: number }[];
  activeHandles: { atRound100: number; atEnd: number };
  /** What went wrong: empty when every round held. */
  violations: string[];
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimPod {
  name: string;
  sim: ProxySim;
  /** Requests this proxy process served since it started: the simulator's own count. */
  served: number;
  /** Requests added since the previous scrape (what the next window must show). */
  window: number;
  restarted: boolean;
}

const REQUEST: TrafficRecord = {
  protocol: 'http',
  parent: {
    group: 'policy.linkerd.io',
    kind: 'EgressNetwork',
    namespace: NS,
    name: 'all-egress',
    port: '443',
  },
  route: { group: '', kind: 'default', namespace: '', name: 'http-egress' },
  hostname: 'api.example.com',
  status: '200',
  error: '',
  seconds: 0.012,
};

export async function runSoak(o: SoakOptions): Promise<SoakFigures> {
  const rand = prng(o.seed ?? 1);
  const c = await startCluster({ tls: false, namespace: NS });
  const pods = new Map<string, SimPod>();
  let nextPod = 0;
  c.server.metricsFor = (ns, pod) => (ns === NS ? pods.get(pod)?.sim.render(Date.now()) : undefined);
  const addPod = (): void => {
    const name = `web-${nextPod++}`;
    c.world.pod(NS, name, { labels: { app: 'web' } });
    pods.set(name, {
      name,
      sim: new ProxySim({ hostnameLabels: true, startTime: Date.now(), podIp: '10.42.0.9' }),
      served: 0,
      window: 0,
      restarted: false,
    });
  };
  for (let i = 0; i < 4; i++) addPod();

  const f: SoakFigures = {
    rounds: 0,
    ms: 0,
    rendered: 0,
    roundsWithFailures: 0,
    podFailuresNamed: 0,
    faultsAbsorbed: 0,
    faults: {},
    proxyRestarts: 0,
    podsAdded: 0,
    podsRemoved: 0,
    windowsChecked: 0,
    requestsSeen: 0,
    requestsServed: 0,
    noBaseline: 0,
    noBaselineWholeCounter: 0,
    watchesEndedByRestart: 0,
    errorsNotNamingThePod: new Set(),
    heapUsedMB: { atRound100: 0, atEnd: 0 },
    samples: [],
    activeHandles: { atRound100: 0, atEnd: 0 },
    violations: [],
  };
  const violation = (s: string): void => {
    if (f.violations.length < 50) f.violations.push(`round ${f.rounds}: ${s}`);
  };
  const sample = (): { heap: number; handles: number } => {
    gc();
    return {
      heap: Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10,
      handles: (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length,
    };
  };

  /** The pods the next scrape will see, and the ones a fault was set for. */
  let scraped = new Set(pods.keys());
  let faulted = new Set<string>();
  /** Pods whose scrape at the start of the current window failed. */
  let failedBefore = new Set<string>();
  const stop = new AbortController();
  let restarting: Promise<void> | undefined;
  /** The round after which the API server was last restarted. */
  let restartedAt = -1;

  const check = (text: string): void => {
    f.rounds++;
    let r: StatReport;
    try {
      r = JSON.parse(text) as StatReport;
    } catch {
      violation(`output is not one JSON report: ${text.slice(0, 80)}`);
      return;
    }
    f.rendered++;
    if (r.pods.scraped !== scraped.size) violation(`scraped ${r.pods.scraped}, want ${scraped.size}`);
    const failed = new Set<string>();
    for (const x of r.pods.failed) {
      failed.add(x.pod);
      // The JSON names the pod; the line on stderr is `warning: ERROR`, which should name it too.
      if (!x.error.includes(x.pod)) f.errorsNotNamingThePod.add(x.error);
      if (!faulted.has(x.pod)) violation(`pod ${x.pod} failed without a fault: ${x.error}`);
    }
    if (failed.size) f.roundsWithFailures++;
    f.podFailuresNamed += failed.size;
    const seen = new Map<string, number>();
    for (const row of [...r.rows, ...r.uncaptured])
      for (const p of row.pods) {
        const name = p.includes('/') ? p.slice(p.indexOf('/') + 1) : p;
        seen.set(name, (seen.get(name) ?? 0) + row.requests);
      }
    let total = 0;
    for (const name of scraped) {
      const p = pods.get(name);
      if (failed.has(name)) continue;
      if (faulted.has(name)) f.faultsAbsorbed++;
      const got = seen.get(name) ?? 0;
      total += got;
      if (!p) continue;
      if (failedBefore.has(name)) {
        f.noBaseline++;
        // Its previous scrape failed, so the window has no baseline for it: stat must count nothing for
        // it rather than its whole counter (metrics/stat.ts toStatWindow).
        if (got === p.served && got !== p.window) f.noBaselineWholeCounter++;
        if (got !== 0)
          violation(`pod ${name}: no baseline (its last scrape failed), yet stat counted ${got}`);
        continue;
      }
      f.windowsChecked++;
      f.requestsSeen += got;
      f.requestsServed += p.window;
      if (got !== p.window)
        violation(
          `pod ${name}: stat saw ${got} requests in the window, the proxy served ${p.window}${p.restarted ? ' (after a restart)' : ''}`,
        );
    }
    if (r.totals.requests !== total) violation(`totals.requests ${r.totals.requests}, rows sum to ${total}`);
    if (r.window.mode !== 'rate') violation(`window ${JSON.stringify(r.window)}`);
    failedBefore = failed;
    if (f.rounds % 100 === 0) {
      const s = sample();
      f.samples.push({ round: f.rounds, heapUsedMB: s.heap, activeHandles: s.handles });
      if (f.rounds === 100) {
        f.heapUsedMB.atRound100 = s.heap;
        f.activeHandles.atRound100 = s.handles;
      }
      o.onProgress?.(f.rounds, f);
    }
  };

  /** Changes the world for the next scrape: runs synchronously between two rounds. */
  const advance = (): void => {
    c.server.requests.length = 0;
    c.server.faults.pods.clear();
    c.server.faults.answer.length = 0;
    const count = (k: FaultKind) => (f.faults[k] = (f.faults[k] ?? 0) + 1);
    if (pods.size > 2 && rand() < 0.04) {
      const victim = [...pods.keys()][Math.floor(rand() * pods.size)]!;
      c.server.store.delete(POD, NS, victim);
      pods.delete(victim);
      f.podsRemoved++;
    }
    if (pods.size < 8 && rand() < 0.05) {
      addPod();
      f.podsAdded++;
    }
    for (const p of pods.values()) {
      p.restarted = false;
      // A restart only when the old counter is above what one window adds, so the drop is visible.
      if (p.served > 6 && rand() < 0.05) {
        p.sim = new ProxySim({ hostnameLabels: true, startTime: Date.now(), podIp: '10.42.0.9' });
        p.served = 0;
        p.restarted = true;
        f.proxyRestarts++;
      }
      p.window = 1 + Math.floor(rand() * 5);
      for (let i = 0; i < p.window; i++) p.sim.record(REQUEST);
      p.served += p.window;
    }
    faulted = new Set();
    const x = rand();
    const names = [...pods.keys()];
    const target = names[Math.floor(rand() * names.length)]!;
    const podFault = (k: PodFault): void => {
      c.server.faults.pods.set(`${NS}/${target}`, k);
      faulted.add(target);
      count(k);
    };
    const answer = (status: CannedAnswer['status']): void => {
      c.server.faults.answer.push({
        status,
        retryAfterSeconds: 0,
        match: new RegExp(`^GET /api/v1/namespaces/${NS}/pods/${target}/portforward$`),
        times: 1,
      });
      faulted.add(target);
      count(`answer-${status}`);
    };
    // Stalls cost a whole --pod-timeout, so they are rarer than the faults that fail fast.
    if (x < 0.004) podFault('stall');
    else if (x < 0.008) podFault('hang');
    else if (x < 0.025) podFault('reset-mid-body');
    else if (x < 0.05) podFault('close-mid-body');
    else if (x < 0.07) podFault('reset-mid-body');
    else if (x < 0.09) podFault('http-500');
    else if (x < 0.11) answer(429);
    else if (x < 0.13) answer(503);
    else if (x < 0.14) answer(500);
    else if (x < 0.15 && !restarting) {
      // Between rounds, as a rolling restart of the API server: keep-alive connections are cut and the
      // next round must reconnect to the same port.
      count('server-restart');
      restartedAt = f.rounds;
      restarting = c.server.restart().finally(() => (restarting = undefined));
    }
    scraped = new Set(pods.keys());
  };

  let lastText = '';
  const deps: Deps = {
    out: {
      write: (s) => {
        lastText = s;
        check(s);
        if (f.rounds >= o.rounds) stop.abort();
        else advance();
      },
    },
    err: { write: () => undefined },
    env: { KUBECONFIG: c.kubeconfig },
    stdoutIsTTY: false,
    cwd: process.cwd(),
    signal: stop.signal,
    now: () => Date.now(),
    kube: (settings) => connect(settings, { KUBECONFIG: c.kubeconfig }),
  };
  const options = egressStat.validate({
    args: [],
    opts: {
      output: 'json',
      by: 'pod',
      interval: '1s',
      watch: true,
      maxConcurrency: '16',
      timeout: '10s',
      podTimeout: `${o.podTimeoutMs ?? 150}ms`,
      namespace: NS,
    },
    global: { kubeconfig: c.kubeconfig, context: undefined, requestTimeoutMs: 5000, verbose: false },
  });
  const t0 = performance.now();
  while (f.rounds < o.rounds) {
    try {
      const code = await egressStat.run({ ...options, intervalMs: o.intervalMs }, deps);
      if (code !== 0) violation(`the watch ended with exit ${code}`);
      if (f.rounds < o.rounds) violation('the watch ended early');
      break;
    } catch (e) {
      const msg = errorMessage(e);
      // Only a restart between the last round and this one may end a watch, and only with one line
      // that names the API server; anything else is a failure of the soak.
      const byRestart =
        restartedAt === f.rounds && /^cannot reach the API server at 127\.0\.0\.1:\d+ \(list pods/.test(msg);
      if (!byRestart) {
        violation(`the watch ended: ${msg} (last output: ${lastText.slice(0, 60)})`);
        break;
      }
      f.watchesEndedByRestart++;
      await restarting;
      // A new watch: its first window is between two scrapes with nothing changed in between.
      c.server.faults.pods.clear();
      c.server.faults.answer.length = 0;
      for (const p of pods.values()) p.window = 0;
      faulted = new Set();
      failedBefore = new Set();
      scraped = new Set(pods.keys());
    }
  }
  f.ms = Math.round(performance.now() - t0);
  await restarting;
  const s = sample();
  f.heapUsedMB.atEnd = s.heap;
  f.activeHandles.atEnd = s.handles;
  await c.close();
  return f;
}
