import crypto from 'node:crypto';
import { SERVED, type ServedResource } from './resources.js';
import type { Store, StoredObject } from './store.js';

const type = (kind: string, group = ''): ServedResource =>
  SERVED.find((r) => r.kind === kind && r.group === group) as ServedResource;

export interface PodOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** A linkerd-proxy container with a port named linkerd-admin (default true). */
  injected?: boolean;
  /** The proxy as a native sidecar (an init container with restartPolicy Always). */
  nativeSidecar?: boolean;
  adminPort?: number;
  /** The controller owning the pod (an ownerReference with controller: true). */
  owner?: StoredObject;
  /** Extra ownerReferences, as given. */
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  /** The node (default `sandbox-node`); null: not scheduled, so port-forward answers "does not have a host assigned". */
  nodeName?: string | null;
  ip?: string;
}

let ipCounter = 10;
const uid = (): string => crypto.randomUUID();

/** Builds cluster state the way controllers would: workloads own ReplicaSets/Jobs own Pods, by UID. */
export class World {
  constructor(readonly store: Store) {}

  namespace(
    name: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {},
  ): StoredObject {
    const existing = this.store.get(type('Namespace'), undefined, name);
    if (existing) return existing;
    return this.store.create(type('Namespace'), undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels }, annotations },
      status: { phase: 'Active' },
    });
  }

  pod(ns: string, name: string, o: PodOptions = {}): StoredObject {
    this.namespace(ns);
    const injected = o.injected ?? true;
    const proxy = {
      name: 'linkerd-proxy',
      image: `cr.l5d.io/linkerd/proxy:${SANDBOX_LINKERD_VERSION}`,
      ports: [
        { name: 'linkerd-proxy', containerPort: 4143, protocol: 'TCP' },
        { name: 'linkerd-admin', containerPort: o.adminPort ?? 4191, protocol: 'TCP' },
      ],
      ...(o.nativeSidecar ? { restartPolicy: 'Always' } : {}),
    };
    const app = {
      name: 'app',
      image: 'curlimages/curl:8.10.1',
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    };
    const ip = o.ip ?? `10.42.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 2}`;
    return this.store.create(type('Pod'), ns, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: ns,
        uid: uid(),
        labels: o.labels ?? {},
        annotations: { ...(injected ? { 'linkerd.io/inject': 'enabled' } : {}), ...(o.annotations ?? {}) },
        ...(o.owner || o.ownerReferences
          ? {
              ownerReferences: [
                ...(o.owner
                  ? [
                      {
                        apiVersion: o.owner.apiVersion,
                        kind: o.owner.kind,
                        name: o.owner.metadata.name,
                        uid: o.owner.metadata.uid,
                        controller: true,
                        blockOwnerDeletion: true,
                      },
                    ]
                  : []),
                ...(o.ownerReferences ?? []),
              ],
            }
          : {}),
      },
      spec: {
        ...(o.nodeName === null ? {} : { nodeName: o.nodeName ?? 'sandbox-node' }),
        containers: injected && !o.nativeSidecar ? [proxy, app] : [app],
        ...(injected && o.nativeSidecar ? { initContainers: [proxy] } : {}),
      },
      status: { phase: o.phase ?? 'Running', ...(o.nodeName === null ? {} : { podIP: ip }) },
    });
  }

  private owned(
    kind: string,
    group: string,
    ns: string,
    name: string,
    spec: Record<string, unknown>,
    owner?: StoredObject,
  ): StoredObject {
    this.namespace(ns);
    return this.store.create(type(kind, group), ns, {
      apiVersion: group ? `${group}/v1` : 'v1',
      kind,
      metadata: {
        name,
        namespace: ns,
        uid: uid(),
        labels:
          (spec.template as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata
            ?.labels ?? {},
        ...(owner
          ? {
              ownerReferences: [
                {
                  apiVersion: owner.apiVersion,
                  kind: owner.kind,
                  name: owner.metadata.name,
                  uid: owner.metadata.uid,
                  controller: true,
                },
              ],
            }
          : {}),
      },
      spec,
    });
  }

  private pods(
    ns: string,
    prefix: string,
    n: number,
    labels: Record<string, string>,
    owner: StoredObject,
    o: PodOptions,
  ): StoredObject[] {
    return Array.from({ length: n }, (_, i) =>
      this.pod(ns, `${prefix}-${suffix(prefix, i)}`, { ...o, labels, owner }),
    );
  }

  /**
   * A Deployment with its ReplicaSet and pods; with `oldReplicas` also an older ReplicaSet mid-rollout
   * whose pods still run.
   */
  deployment(
    ns: string,
    name: string,
    o: { replicas?: number; oldReplicas?: number; labels?: Record<string, string> } & PodOptions = {},
  ): StoredObject {
    const labels = o.labels ?? { app: name };
    const deploy = this.owned('Deployment', 'apps', ns, name, {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: {} },
    });
    const rs = (hash: string, n: number) => {
      const rsLabels = { ...labels, 'pod-template-hash': hash };
      const r = this.owned(
        'ReplicaSet',
        'apps',
        ns,
        `${name}-${hash}`,
        { replicas: n, selector: { matchLabels: rsLabels }, template: { metadata: { labels: rsLabels } } },
        deploy,
      );
      this.pods(ns, `${name}-${hash}`, n, rsLabels, r, o);
    };
    rs('7d4b9c6f5', o.replicas ?? 1);
    if (o.oldReplicas) rs('5f8d7b6c4', o.oldReplicas);
    return deploy;
  }

  /** StatefulSet, DaemonSet, ReplicaSet, ReplicationController or Job owning `replicas` pods directly. */
  controller(
    kind: 'StatefulSet' | 'DaemonSet' | 'ReplicaSet' | 'ReplicationController' | 'Job',
    ns: string,
    name: string,
    o: { replicas?: number; labels?: Record<string, string> } & PodOptions = {},
  ): StoredObject {
    const labels = o.labels ?? { app: name };
    const group = kind === 'Job' ? 'batch' : kind === 'ReplicationController' ? '' : 'apps';
    const selector = kind === 'ReplicationController' ? labels : { matchLabels: labels };
    const c = this.owned(kind, group, ns, name, {
      replicas: o.replicas ?? 1,
      selector,
      template: { metadata: { labels } },
    });
    this.pods(ns, name, o.replicas ?? 1, labels, c, o);
    return c;
  }

  /** A CronJob whose Jobs ran pods (linkerd's CLI finds none of these). */
  cronJob(ns: string, name: string, o: { jobs?: number } & PodOptions = {}): StoredObject {
    const cj = this.owned('CronJob', 'batch', ns, name, {
      schedule: '*/5 * * * *',
      jobTemplate: { spec: {} },
    });
    for (let j = 0; j < (o.jobs ?? 1); j++) {
      const jobName = `${name}-2963${String(j).padStart(4, '0')}`;
      const labels = { 'batch.kubernetes.io/job-name': jobName, 'job-name': jobName };
      const job = this.owned(
        'Job',
        'batch',
        ns,
        jobName,
        { selector: { matchLabels: labels }, template: { metadata: { labels } } },
        cj,
      );
      this.pods(ns, jobName, 1, labels, job, o);
    }
    return cj;
  }

  /**
   * Linkerd's control plane as `linkerd version` and `egressctl version` see it: namespace `linkerd`
   * (labelled as `linkerd install` labels it), the `linkerd-config` ConfigMap whose `values` hold the
   * Helm values (`linkerdVersion`, `proxy.metrics.hostnameLabels`), and the linkerd-destination
   * Deployment (no pods: the sandbox's policy controller runs in-process).
   */
  linkerdControlPlane(o: { version?: string; hostnameLabels?: boolean } = {}): StoredObject {
    const ns = 'linkerd';
    const version = o.version ?? SANDBOX_LINKERD_VERSION;
    this.namespace(ns, { 'linkerd.io/is-control-plane': 'true', 'linkerd.io/control-plane-ns': ns });
    this.store.create(type('Deployment', 'apps'), ns, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'linkerd-destination',
        namespace: ns,
        uid: uid(),
        labels: {
          'linkerd.io/control-plane-component': 'destination',
          'linkerd.io/control-plane-ns': ns,
          'app.kubernetes.io/version': version,
        },
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { 'linkerd.io/control-plane-component': 'destination' } },
        template: {
          metadata: { labels: { 'linkerd.io/control-plane-component': 'destination' } },
          spec: { containers: [{ name: 'destination', image: `cr.l5d.io/linkerd/controller:${version}` }] },
        },
      },
    });
    const values = `linkerdVersion: ${version}\nproxy:\n  metrics:\n    hostnameLabels: ${o.hostnameLabels ?? false}\n`;
    return this.store.create(type('ConfigMap'), ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'linkerd-config',
        namespace: ns,
        uid: uid(),
        labels: { 'linkerd.io/control-plane-component': 'controller', 'linkerd.io/control-plane-ns': ns },
      },
      data: { values },
    });
  }

  service(
    ns: string,
    name: string,
    o: { port?: number; selector?: Record<string, string>; clusterIP?: string } = {},
  ): StoredObject {
    this.namespace(ns);
    return this.store.create(type('Service'), ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: {
        selector: o.selector ?? { app: name },
        clusterIP: o.clusterIP ?? `10.96.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 2}`,
        ports: [{ name: 'http', port: o.port ?? 80, targetPort: o.port ?? 80, protocol: 'TCP' }],
      },
    });
  }
}

/** The Linkerd release the sandbox's proxies and control plane claim to be (their image tags). */
export const SANDBOX_LINKERD_VERSION = 'edge-26.8.3';

/** Deterministic pod-name suffixes that look like the real ones. */
function suffix(prefix: string, i: number): string {
  const h = crypto.createHash('sha256').update(`${prefix}/${i}`).digest('hex');
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(
    { length: 5 },
    (_, k) => alphabet[parseInt(h.slice(k * 2, k * 2 + 2), 16) % alphabet.length],
  ).join('');
}
