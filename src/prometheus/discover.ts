import { ClusterError } from '../errors.js';
import { forwardHttpGet } from '../kube/portforward.js';
import { parseTarget, resolvePods } from '../kube/resolve.js';
import type { KubeClient } from '../kube/rest.js';
import { urlEndpoint, type Auth, type Endpoint } from './client.js';

/**
 * Finds linkerd-viz's Prometheus as `linkerd viz` does (`viz/pkg/api/api.go`,
 * `viz/pkg/healthcheck/healthcheck.go`): the namespace labelled `linkerd.io/extension=viz`; its
 * `viz.linkerd.io/external-prometheus` annotation if set; else a Running pod of deployment
 * `prometheus` there, port 9090, through our own port-forward. Not the API server's service proxy:
 * viz's Prometheus Service is meshed and admits only the metrics-api ServiceAccount (linkerd2 #10790).
 */

export const VIZ_LABEL = 'linkerd.io/extension=viz';
export const EXTERNAL_PROMETHEUS = 'viz.linkerd.io/external-prometheus';
export const VIZ_PROMETHEUS_PORT = 9090;

interface Namespace {
  metadata: { name: string; annotations?: Record<string, string> };
}

/** The viz namespace, or undefined when linkerd-viz is not installed. */
export async function findVizNamespace(client: KubeClient): Promise<Namespace | undefined> {
  const list = await client.get<{ items?: Namespace[] }>('/api/v1/namespaces', {
    query: { labelSelector: VIZ_LABEL },
    what: `list namespaces labelled ${VIZ_LABEL} (to find linkerd-viz's Prometheus)`,
  });
  return [...(list.items ?? [])].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0];
}

/** The endpoint of linkerd-viz's Prometheus, or undefined when viz is not installed. */
export async function discoverVizPrometheus(
  client: KubeClient,
  o: { auth: Auth; connectTimeoutMs: number },
): Promise<Endpoint | undefined> {
  const ns = await findVizNamespace(client);
  if (!ns) return undefined;
  const external = ns.metadata.annotations?.[EXTERNAL_PROMETHEUS];
  if (external) {
    let url: URL;
    try {
      url = new URL(external);
    } catch {
      throw new ClusterError(
        `namespace ${ns.metadata.name} has an invalid ${EXTERNAL_PROMETHEUS} annotation "${external}": fix it, or pass --prometheus URL`,
      );
    }
    return urlEndpoint(url, o.auth);
  }
  const namespace = ns.metadata.name;
  const pods = await resolvePods(client, {
    by: 'target',
    target: parseTarget('deploy/prometheus'),
    namespace,
  });
  const pod = pods.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  if (!pod)
    throw new ClusterError(
      `linkerd-viz (namespace ${namespace}) has no Running pod of deployment prometheus: check \`kubectl -n ${namespace} get pods\`, or pass --prometheus URL`,
    );
  const name = pod.metadata.name;
  return {
    name: `linkerd-viz's Prometheus (pod ${namespace}/${name}, port-forwarded)`,
    getOnly: true,
    send: async (req) => {
      const r = await forwardHttpGet(client, namespace, name, VIZ_PROMETHEUS_PORT, req.path, {
        connectTimeoutMs: o.connectTimeoutMs,
        deadlineMs: req.deadlineMs,
        signal: req.signal,
      });
      return { statusCode: r.statusCode, body: r.body };
    },
  };
}
