import type { StoredObject } from './store.js';

/** linkerd2-proxy's admin listener when the injector set no other (linkerd2 `proxy.ports.admin`). */
export const DEFAULT_PROXY_ADMIN_PORT = 4191;

interface ContainerSpec {
  name?: string;
  ports?: { name?: string; containerPort?: number }[];
}

/**
 * Where a pod's simulated proxy admin server listens inside the pod, as the kubelet would reach it:
 * the port of a container or init container (a native sidecar) named `*linkerd-admin`, else the
 * default 4191 when the pod runs a `linkerd-proxy` container at all; undefined for a pod without a
 * proxy (nothing listens). The sandbox's own reading of the pod, written apart from the CLI's
 * (`kube/resolve.ts`) on purpose: a bug in how the CLI finds admin ports then fails the tests instead
 * of being mirrored by the cluster they run against.
 */
export function proxyAdminPort(pod: StoredObject): number | undefined {
  const spec = pod.spec as { initContainers?: ContainerSpec[]; containers?: ContainerSpec[] } | undefined;
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  for (const c of containers)
    for (const p of c.ports ?? [])
      if (p.name?.endsWith('linkerd-admin') && p.containerPort !== undefined) return p.containerPort;
  return containers.some((c) => c.name === 'linkerd-proxy') ? DEFAULT_PROXY_ADMIN_PORT : undefined;
}
