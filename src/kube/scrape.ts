import { setMaxListeners } from 'node:events';
import { errorMessage } from '../errors.js';
import { timerDelay } from '../options/duration.js';
import { forwardHttpGet } from './portforward.js';
import { adminPorts, unscrapableReason, type Pod } from './resolve.js';
import type { KubeClient } from './rest.js';

/** One proxy's /metrics, or why it could not be had. Every selected pod yields at least one. */
export interface ScrapeResult {
  namespace: string;
  pod: string;
  /** The container that owns the linkerd-admin port (absent when the pod could not be tried). */
  container?: string;
  port?: number;
  body?: string;
  error?: string;
}

export interface ScrapeOptions {
  concurrency: number;
  /** Deadline for the whole round; pods not done by then get an error result, never dropped. */
  deadlineMs: number;
  podTimeoutMs: number;
  connectTimeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** The text of a 200 body (its UTF-8 by default): a caller that reads only part of it can skip the rest. */
  decode?: (body: Buffer) => string;
  /**
   * Called once per result as it finishes, with its index in the returned order and the total, so
   * callers can stream output in order and drop bodies they have written.
   */
  onResult?: (index: number, total: number, r: ScrapeResult) => void;
  /**
   * Asked before each pod: a promise makes the worker wait for it (or the round's end) first, so a
   * caller whose output lags (stdout into a slow pipe) is not outrun by the scrape.
   */
  backlog?: () => Promise<void> | undefined;
}

/**
 * Scrapes `GET /metrics` from the linkerd-admin port of every pod, at most `concurrency` at once, within
 * the deadline. Results keep the order of `pods` (one per admin port; one error result for a pod that is
 * not running or not injected).
 */
export async function scrapePods(client: KubeClient, pods: Pod[], o: ScrapeOptions): Promise<ScrapeResult[]> {
  interface Job {
    pod: Pod;
    container?: string;
    port?: number;
    skip?: string;
  }
  const jobs: Job[] = pods.flatMap((pod): Job[] => {
    const reason = unscrapableReason(pod);
    if (reason) return [{ pod, skip: reason }];
    return adminPorts(pod).map((a) => ({ pod, container: a.container, port: a.port }));
  });
  const results: (ScrapeResult | undefined)[] = new Array<ScrapeResult | undefined>(jobs.length);
  const round = new AbortController();
  // Every in-flight forward listens on this signal; there are up to `concurrency` of them.
  setMaxListeners(0, round.signal);
  // Ctrl-C, or the client's deadline (the command's --timeout), ends the round as its own deadline does.
  const outer = o.signal ? AbortSignal.any([o.signal, client.signal]) : client.signal;
  let timedOut = false;
  const onOuterAbort = (): void => {
    timedOut = client.signal.aborted && !client.interrupted;
    round.abort();
  };
  if (outer.aborted) onOuterAbort();
  else outer.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    round.abort();
  }, timerDelay(o.deadlineMs));

  const roundOver = new Promise<void>((resolve) =>
    round.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !round.signal.aborted) {
      const wait = o.backlog?.();
      if (wait) {
        await Promise.race([wait, roundOver]);
        if (next >= jobs.length || round.signal.aborted) break;
      }
      const i = next++;
      const job = jobs[i] as Job;
      const base = { namespace: job.pod.metadata.namespace, pod: job.pod.metadata.name };
      let r: ScrapeResult;
      if (job.skip) {
        r = { ...base, error: job.skip };
      } else {
        const where = { ...base, container: job.container as string, port: job.port as number };
        try {
          const res = await forwardHttpGet(client, base.namespace, base.pod, where.port, '/metrics', {
            // Half the pod's time at most, so a stuck handshake is reported as such, not as a slow proxy.
            connectTimeoutMs:
              o.connectTimeoutMs ?? Math.min(5000, Math.max(100, Math.floor(o.podTimeoutMs / 2))),
            deadlineMs: o.podTimeoutMs,
            signal: round.signal,
          });
          if (res.statusCode !== 200) {
            const first = res.body.toString('utf8').trim().split('\n')[0]?.slice(0, 200) ?? '';
            r = {
              ...where,
              error: `pod ${base.namespace}/${base.pod}: the proxy answered HTTP ${res.statusCode} on /metrics${first ? `: ${first}` : ''}`,
            };
          } else {
            r = { ...where, body: o.decode ? o.decode(res.body) : res.body.toString('utf8') };
          }
        } catch (e) {
          r = { ...where, error: errorMessage(e) };
        }
      }
      if (round.signal.aborted && r.error && !job.skip) r = { ...r, error: abortMessage(base) };
      results[i] = r;
      o.onResult?.(i, jobs.length, r);
    }
  };
  const abortMessage = (b: { namespace: string; pod: string }): string =>
    timedOut
      ? `pod ${b.namespace}/${b.pod}: not scraped within --timeout ${o.deadlineMs / 1000}s (raise --timeout or --max-concurrency)`
      : `pod ${b.namespace}/${b.pod}: interrupted`;
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, jobs.length)) }, worker));
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', onOuterAbort);
  }
  return jobs.map((job, i) => {
    const r = results[i];
    if (r) return r;
    const b = { namespace: job.pod.metadata.namespace, pod: job.pod.metadata.name };
    return {
      ...b,
      ...(job.container ? { container: job.container, port: job.port } : {}),
      error: abortMessage(b),
    };
  });
}
