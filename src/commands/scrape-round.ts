import type { Deps } from '../deps.js';
import { ClusterError, errorMessage, interruptedBy } from '../errors.js';
import type { Pod, Selection } from '../kube/resolve.js';
import type { KubeClient } from '../kube/rest.js';
import type { Exposition } from '../metrics/parse.js';
import type { StatSample } from '../metrics/stat.js';
import { splitMeshed } from './pods.js';

/** How hard one round scrapes: `egress stat`'s --max-concurrency, --timeout and --pod-timeout. */
export interface ScrapeLimits {
  concurrency: number;
  timeoutMs: number;
  podTimeoutMs: number;
}

/** One round, with the pods it resolved (their owners name the workloads of a ledger). */
export interface ScrapedRound extends StatSample {
  pods: Pod[];
}

/**
 * One scrape of the selected pods' egress metrics, as `egress stat` takes it and `egress plan` (and
 * `--plan`, and `learn`) read live flows from: pods resolved, each proxy's /metrics parsed for the
 * egress families only. A pod that fails is listed, not fatal; no pods at all is a ClusterError.
 */
export async function scrapeRound(
  client: KubeClient,
  selection: Selection,
  o: ScrapeLimits,
  deps: Deps,
  /** Pods already warned about repeated series, so `--watch` says it once per pod. */
  warned: Set<string> = new Set(),
): Promise<ScrapedRound> {
  const { describeSelection, resolvePods } = await import('../kube/resolve.js');
  const { scrapePods } = await import('../kube/scrape.js');
  const { isEgressFamily } = await import('../metrics/egress.js');
  const { detachExposition, newInterner } = await import('../metrics/detach.js');
  const { parseMetrics, prefilterMetrics } = await import('../metrics/parse.js');
  // --timeout bounds each round, lookups included, not the whole --watch.
  client.restartDeadline();
  const all = await resolvePods(client, selection);
  if (all.length === 0) throw new ClusterError(`no pods found for ${describeSelection(selection)}`);
  const { meshed: pods, unmeshed } = splitMeshed(all, selection);
  const expositions = new Map<string, Exposition>();
  // One pool per round: the strings of the series every pod shares are kept once.
  const pool = newInterner();
  const failed: StatSample['failed'] = [];
  const at = deps.now();
  await scrapePods(client, pods, {
    concurrency: o.concurrency,
    deadlineMs: o.timeoutMs,
    podTimeoutMs: o.podTimeoutMs,
    signal: deps.signal,
    // Most of a proxy's body is families stat never reads: they are never decoded.
    decode: (body) => prefilterMetrics(body, isEgressFamily),
    onResult: (_i, _n, r) => {
      const id = `${r.namespace}/${r.pod}`;
      if (r.body === undefined) {
        failed.push({ namespace: r.namespace, pod: r.pod, error: r.error ?? 'no body' });
        return;
      }
      try {
        // Detached, so this pod's body is freed now rather than kept alive by the slices of it that the
        // round keeps (all bodies of two rounds, with --interval or --watch).
        const e = parseMetrics(r.body, { keep: isEgressFamily });
        // Prometheus keeps the first sample of a repeated series, and so does the parser; say so once.
        if (e.duplicates && !warned.has(id)) {
          warned.add(id);
          deps.err.write(
            `warning: pod ${id}: ${e.duplicates} repeated series in its metrics; kept the first of each\n`,
          );
        }
        expositions.set(id, detachExposition(e, pool));
      } catch (e) {
        failed.push({ namespace: r.namespace, pod: r.pod, error: `pod ${id}: ${errorMessage(e)}` });
      }
      r.body = undefined;
    },
  });
  // A round cut short by Ctrl-C is no result: it is never rendered.
  if (deps.signal.aborted) throw interruptedBy(deps.signal);
  return { at, expositions, failed, scraped: pods.length, unmeshed, pods };
}
