import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyAdminPort } from './admin-ports.js';
import type { MetricsProvider } from './proxy-admin.js';
import { SERVED, type ServedResource } from './resources.js';
import type { Store, StoredObject } from './store.js';

/**
 * The simulated proxies' /metrics on a plain loopback listener, for a real Prometheus to scrape (the
 * port-forward bridge is in-process and speaks WebSocket, which Prometheus does not):
 *   GET /metrics/NS/POD  the pod's proxy /metrics (as the kubelet bridge serves it);
 *   GET /targets         Prometheus HTTP service discovery (`http_sd_configs`): one target per injected,
 *                        Running pod, with the `__meta_kubernetes_*` labels kubernetes_sd's pod role would
 *                        give, so the scrape config can relabel them as linkerd-viz's does.
 */

const type = (kind: string, group = ''): ServedResource =>
  SERVED.find((r) => r.kind === kind && r.group === group) as ServedResource;

export interface ScrapeEndpoint {
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

const metaName = (label: string) => label.replace(/[^a-zA-Z0-9_]/g, '_');

/**
 * The owner labels the proxy injector puts on a pod (`linkerd.io/proxy-deployment`, `-replicaset`,
 * `-statefulset`, `-daemonset`, `-job`, `-cronjob`; linkerd2 `pkg/inject/inject.go`), which viz's
 * relabelling turns into `deployment`, `k8s_job`, …. The sandbox's pods do not carry them, so they are
 * derived here from the ownerReferences, as the injector derives them.
 */
function injectorLabels(store: Store, pod: StoredObject): Record<string, string> {
  const out: Record<string, string> = {};
  const ns = pod.metadata.namespace ?? '';
  const ownerOf = (o: StoredObject) => o.metadata.ownerReferences?.find((r) => r.controller);
  let ref = ownerOf(pod);
  for (let depth = 0; ref && depth < 3; depth++) {
    const kind = ref.kind.toLowerCase();
    out[`linkerd.io/proxy-${kind}`] = ref.name;
    const group = ref.apiVersion.includes('/') ? (ref.apiVersion.split('/')[0] ?? '') : '';
    const owner = SERVED.some((r) => r.kind === ref?.kind && r.group === group)
      ? store.get(type(ref.kind, group), ns, ref.name)
      : undefined;
    ref = owner ? ownerOf(owner) : undefined;
  }
  return out;
}

/** The http_sd target groups for the store's pods now. */
export function targetGroups(store: Store, base: string): unknown[] {
  const host = new URL(base).host;
  const groups: unknown[] = [];
  for (const p of store.list(type('Pod'))) {
    const pod = p as StoredObject & { status?: { phase?: string; podIP?: string } };
    if (pod.status?.phase !== 'Running') continue;
    // The sandbox's own reading of the pod (admin-ports.ts), never the CLI's.
    const port = proxyAdminPort(p);
    if (port === undefined) continue;
    const ns = pod.metadata.namespace ?? '';
    const labels: Record<string, string> = {
      __metrics_path__: `/metrics/${encodeURIComponent(ns)}/${encodeURIComponent(pod.metadata.name)}`,
      __meta_kubernetes_namespace: ns,
      __meta_kubernetes_pod_name: pod.metadata.name,
      __meta_kubernetes_pod_ip: pod.status?.podIP ?? '',
      __meta_kubernetes_pod_container_name: 'linkerd-proxy',
      __meta_kubernetes_pod_container_port_name: 'linkerd-admin',
      __meta_kubernetes_pod_container_port_number: String(port),
    };
    const podLabels = { ...pod.metadata.labels, ...injectorLabels(store, p) };
    for (const [k, v] of Object.entries(podLabels)) labels[`__meta_kubernetes_pod_label_${metaName(k)}`] = v;
    groups.push({ targets: [host], labels });
  }
  return groups;
}

export async function startScrapeEndpoint(o: {
  store: Store;
  metrics: () => MetricsProvider | undefined;
}): Promise<ScrapeEndpoint> {
  let url = '';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === '/targets') {
      const body = JSON.stringify(targetGroups(o.store, url));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    const m = /^\/metrics\/([^/]+)\/([^/]+)$/.exec(path);
    const body = m
      ? o.metrics()?.(decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string))
      : undefined;
    if (body === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(body);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
