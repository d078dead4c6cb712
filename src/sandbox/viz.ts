import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiServer } from './apiserver.js';
import { startScrapeEndpoint, type ScrapeEndpoint } from './scrape-endpoint.js';
import type { World } from './world.js';

/**
 * linkerd-viz in the sandbox: a namespace labelled `linkerd.io/extension=viz` with a `prometheus`
 * Deployment, whose pod's port 9090 the port-forward bridge (`kubelet.ts`) connects to a REAL
 * Prometheus (Debian's `prometheus` package) running on loopback. That Prometheus scrapes the simulated
 * proxies through `scrape-endpoint.ts`, relabelled as linkerd-viz's scrape config relabels them
 * (`viz/charts/linkerd-viz/templates/prometheus.yaml`, job `linkerd-proxy`).
 */

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
export const VIZ_NAMESPACE = 'linkerd-viz';

export interface VizPrometheus {
  /** `http://127.0.0.1:PORT` of the real Prometheus. */
  url: string;
  /** The viz namespace's prometheus pod (port-forwarded to `url`). */
  pod: string;
  scrape: ScrapeEndpoint;
  /** Waits until every proxy target was scraped at least `n` times, and once after `afterMs` when given. */
  waitForScrapes(o: { n?: number; afterMs?: number; timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/** The Prometheus binary, or undefined when the Debian package `prometheus` is not installed. */
export function prometheusBinary(): string | undefined {
  const bin = process.env.EGRESSCTL_PROMETHEUS_BINARY ?? PROMETHEUS_BINARY;
  return fs.existsSync(bin) ? bin : undefined;
}

/** linkerd-viz's `linkerd-proxy` scrape job, with service discovery swapped for the sandbox's. */
export function scrapeConfig(targetsUrl: string, intervalS = 1): string {
  return `global:
  scrape_interval: ${intervalS}s
  evaluation_interval: ${intervalS}s
scrape_configs:
- job_name: linkerd-proxy
  scrape_interval: ${intervalS}s
  scrape_timeout: ${intervalS}s
  http_sd_configs:
  - url: ${targetsUrl}
    refresh_interval: ${intervalS}s
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name]
    action: keep
    regex: ^linkerd-proxy;linkerd-admin$
  - source_labels: [__meta_kubernetes_namespace]
    action: replace
    target_label: namespace
  - source_labels: [__meta_kubernetes_pod_name]
    action: replace
    target_label: pod
  - source_labels: [__meta_kubernetes_pod_label_linkerd_io_proxy_job]
    action: replace
    target_label: k8s_job
  - action: labeldrop
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_job
  - action: labelmap
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
  - action: labeldrop
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
  - action: labelmap
    regex: __meta_kubernetes_pod_label_linkerd_io_(.+)
`;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function getJson(url: string): Promise<unknown> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

/** Starts Prometheus beside the sandbox and the viz objects that let discovery find it. */
export async function startVizPrometheus(o: {
  server: ApiServer;
  world: World;
  binary?: string;
  /** Scrape interval in seconds (viz: 10; tests: 1). */
  intervalS?: number;
}): Promise<VizPrometheus> {
  const binary = o.binary ?? prometheusBinary();
  if (!binary)
    throw new Error(`${PROMETHEUS_BINARY} is not installed: install the Debian package prometheus`);
  const scrape = await startScrapeEndpoint({ store: o.server.store, metrics: () => o.server.metricsFor });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-prometheus-'));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), scrapeConfig(`${scrape.url}/targets`, o.intervalS ?? 1));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      if (!exited) child.kill('SIGKILL');
    }
    await scrape.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (exited) throw new Error(`prometheus exited: ${log.trim().split('\n').at(-1) ?? ''}`);
      if (i > 300) throw new Error(`prometheus at ${url} not ready after 30s`);
      try {
        if ((await fetch(`${url}/-/ready`)).ok) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  // The viz objects: `linkerd viz` finds its Prometheus through these (src/prometheus/discover.ts).
  o.world.namespace(VIZ_NAMESPACE, { 'linkerd.io/extension': 'viz' });
  o.world.deployment(VIZ_NAMESPACE, 'prometheus', {
    replicas: 1,
    labels: { 'linkerd.io/extension': 'viz', component: 'prometheus' },
    // Meshed, as viz's is: why the API server's service proxy cannot reach it (linkerd2 #10790).
    injected: true,
  });
  const pod = o.server.store.all().find((x) => x.kind === 'Pod' && x.metadata.namespace === VIZ_NAMESPACE)
    ?.metadata.name as string;
  o.server.podPorts.set(`${VIZ_NAMESPACE}/${pod}:9090`, port);

  const query = async (q: string) => {
    const j = (await getJson(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)) as {
      data: { result: { value: [number, string] }[] };
    };
    return j.data.result.map((r) => Number(r.value[1]));
  };
  return {
    url,
    pod,
    scrape,
    async waitForScrapes({ n = 2, afterMs, timeoutMs = 60_000 }) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const want = ((await getJson(`${scrape.url}/targets`)) as unknown[]).length;
        const [count] = await query('count(up{job="linkerd-proxy"} == 1)');
        const [minScrapes] = await query('min(count_over_time(up{job="linkerd-proxy"}[10m]))');
        const [oldest] = await query('min(timestamp(up{job="linkerd-proxy"}))');
        if (
          count === want &&
          (minScrapes ?? 0) >= n &&
          (afterMs === undefined || (oldest ?? 0) * 1000 > afterMs)
        )
          return;
        if (Date.now() > deadline)
          throw new Error(
            `prometheus scraped ${count ?? 0} of ${want} targets (min ${minScrapes ?? 0} scrapes) within ${timeoutMs / 1000}s`,
          );
        await sleep(200);
      }
    },
    stop,
  };
}
