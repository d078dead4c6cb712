import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deps } from '../deps.js';
import { ClusterError, UsageError } from '../errors.js';
import type { Selection } from '../kube/resolve.js';
import type { KubeClient } from '../kube/rest.js';
import type { EgressLedger } from '../metrics/ledger.js';
import type { StatSample } from '../metrics/stat.js';
import type { FlowSource } from './egress-plan.js';
import { inNamespace } from './pods.js';
import type { SourceChoice } from '../prometheus/source.js';
import type { ScrapeLimits } from './scrape-round.js';

/** The flows a live ledger holds, and the pods that could not be read (the ledger is then partial). */
export interface LiveLedger {
  ledger: EgressLedger;
  failed: StatSample['failed'];
}

/**
 * A ledger from the running pods: one scrape (totals since each proxy started), or two `intervalMs`
 * apart (what moved in between, as rates), through `egress stat`'s own scrape and model
 * (`toStatWindow` grouped by pod, then `toLedger`). For `egress plan`, `--plan` and `learn`.
 */
export async function liveLedger(
  client: KubeClient,
  selection: Selection,
  o: ScrapeLimits & { intervalMs: number },
  deps: Deps,
): Promise<LiveLedger> {
  const { scrapeRound } = await import('./scrape-round.js');
  const { toStatWindow } = await import('../metrics/stat.js');
  const { toLedger, workloadOf } = await import('../metrics/ledger.js');
  const { describeSelection } = await import('../kube/resolve.js');
  const first = await scrapeRound(client, selection, o, deps);
  let prev: typeof first | undefined;
  let curr = first;
  if (o.intervalMs > 0) {
    try {
      await sleep(o.intervalMs, undefined, { signal: deps.signal });
    } catch {
      throw new ClusterError('interrupted before the second scrape: no rates to show');
    }
    prev = first;
    curr = await scrapeRound(client, selection, o, deps);
  }
  const report = toStatWindow(prev, curr, 'pod');
  const workloads = new Map(
    [...first.pods, ...curr.pods].map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, workloadOf(p)]),
  );
  const ledger = toLedger(report, {
    workloads,
    source: {
      kind: 'pods',
      selection: describeSelection(selection),
      scraped: curr.scraped,
      failed: curr.failed.length,
    },
    start: prev?.at,
    end: curr.at,
  });
  return { ledger, failed: curr.failed };
}

/** A ledger file (`--from-file`): its problems are InvalidInput naming the file and the field. */
export async function fileLedger(file: string, cwd: string): Promise<EgressLedger> {
  const { parseLedger } = await import('../metrics/ledger.js');
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(cwd, file), 'utf8');
  } catch {
    throw new UsageError(`--from-file ${file}: no such file`);
  }
  return parseLedger(text, file);
}

/** How hard `plan` and `learn` scrape when they read live flows (`egress stat`'s defaults). */
const FLOW_LIMITS: ScrapeLimits = { concurrency: 16, timeoutMs: 30_000, podTimeoutMs: 10_000 };

/**
 * The flows `egress plan` and `egress learn` replay: a ledger file, Prometheus (when `chooseSource`
 * picks it: `--since`, `--prometheus`, `--source prometheus`, $EGRESSCTL_PROMETHEUS), or the pods
 * scraped live (`connect` opens the client only then), with the pods that could not be read.
 */
export async function readFlows(
  flows: FlowSource,
  namespace: string,
  connect: () => Promise<KubeClient>,
  deps: Deps,
): Promise<{ ledger: EgressLedger; failed: { namespace: string; pod: string; error: string }[] }> {
  if (flows.from === 'file') return { ledger: await fileLedger(flows.file, deps.cwd), failed: [] };
  const { chooseSource } = await import('../prometheus/source.js');
  const choice = chooseSource(flows.prometheus, deps.env);
  if (choice.type !== 'pods') {
    if (flows.intervalMs > 0)
      throw new UsageError(
        '--interval scrapes the proxies twice; from Prometheus use --since DURATION (or --source pods)',
      );
    return { ledger: await promFlows(flows, choice, namespace, connect, deps), failed: [] };
  }
  const selection = inNamespace(flows.pods, flows.allNamespaces ? undefined : namespace);
  return liveLedger(await connect(), selection, { ...FLOW_LIMITS, intervalMs: flows.intervalMs }, deps);
}

/** The ledger of the flows Prometheus saw over `--since` (or totals), one series per (row, pod). */
async function promFlows(
  flows: Extract<FlowSource, { from: 'pods' }>,
  choice: Exclude<SourceChoice, { type: 'pods' }>,
  namespace: string,
  connect: () => Promise<KubeClient>,
  deps: Deps,
): Promise<EgressLedger> {
  const { noProxies, promEndpoint, promRead, promScope } = await import('../prometheus/source.js');
  const { podSampleLedger, queryPodSample } = await import('../prometheus/egress.js');
  const ns = flows.allNamespaces ? undefined : namespace;
  const scope = await promScope(flows.pods, ns, connect);
  const endpoint = await promEndpoint(choice, flows.prometheus, flows, connect);
  const p = await queryPodSample(endpoint, {
    ...promRead(deps, { scope, windowSeconds: flows.prometheus.sinceSeconds, deadlineMs: flows.timeoutMs }),
    owners: true,
    latency: false,
  });
  if (p.sample.scraped === 0) throw noProxies(endpoint, flows.pods, ns);
  return podSampleLedger(p, endpoint.name);
}
