import { ClusterError, UsageError } from '../errors.js';
import { KINDS as REGISTRY } from '../kinds.js';
import { ApiError, type KubeClient } from './rest.js';

/** The parts of a Pod that egressctl reads. */
export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    deletionTimestamp?: string;
  };
  spec?: { containers?: Container[]; initContainers?: Container[]; nodeName?: string };
  status?: { phase?: string; podIP?: string };
}

interface Container {
  name: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

interface OwnerReference {
  uid: string;
  kind?: string;
  name?: string;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface Workload {
  metadata: { name: string; namespace: string; uid: string; ownerReferences?: OwnerReference[] };
  spec?: { selector?: LabelSelector | Record<string, string> };
}

interface List<T> {
  items: T[];
  metadata?: { continue?: string };
}

/** Where each kubectl resource name (short, singular, plural) points: the registry's workload kinds. */
const KINDS: Record<string, { kind: Kind; api: string; plural: string }> = {};
type Kind =
  | 'pod'
  | 'deployment'
  | 'statefulset'
  | 'daemonset'
  | 'replicaset'
  | 'replicationcontroller'
  | 'job'
  | 'cronjob';
const WORKLOADS = REGISTRY.filter((k) => k.workload);
for (const k of WORKLOADS) {
  const api = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  const entry = { kind: k.singular as Kind, api, plural: k.plural };
  for (const n of [k.singular, k.plural, ...k.shortNames]) KINDS[n] = entry;
}
/** `.apps`, `.batch`: the groups a TYPE may be qualified with. */
const GROUP_SUFFIX = new RegExp(
  `\\.(${[...new Set(WORKLOADS.map((k) => k.group).filter(Boolean))].map((g) => g.replace(/\./g, '\\.')).join('|')})$`,
);
/** `po, deploy, sts, ds, rs, rc, job or cj`, the names the usage error suggests. */
const SUGGESTED = (() => {
  const order = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController'];
  const rank = (kind: string) => (order.includes(kind) ? order.indexOf(kind) : order.length);
  const names = [...WORKLOADS]
    .sort((a, b) => rank(a.kind) - rank(b.kind))
    .map((k) => k.shortNames[0] ?? k.singular);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1] ?? ''}`;
})();

/** A parsed `TYPE/NAME` (a bare NAME is a pod, as in `kubectl port-forward`). */
export interface Target {
  kind: Kind;
  name: string;
  /** As the user wrote it, for messages. */
  text: string;
}

export function parseTarget(text: string): Target {
  const slash = text.indexOf('/');
  const type = slash < 0 ? 'pod' : text.slice(0, slash).toLowerCase();
  const name = slash < 0 ? text : text.slice(slash + 1);
  const k = KINDS[type.replace(GROUP_SUFFIX, '')];
  if (!k) {
    throw new UsageError(
      `unsupported resource type "${type}" in "${text}": use ${SUGGESTED} (e.g. deploy/web)`,
    );
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
    throw new UsageError(
      `invalid name "${name}" in "${text}": want TYPE/NAME with a DNS-1123 name, e.g. po/client`,
    );
  }
  return { kind: k.kind, name, text };
}

/** How pods are chosen: one target, a label selector, or every pod (in a namespace, or in all of them). */
export type Selection =
  | { by: 'target'; target: Target; namespace: string }
  | { by: 'selector'; selector: string; namespace: string | undefined }
  | { by: 'all'; namespace: string | undefined };

/** Describes a selection for messages: `deploy/web in namespace egress-test`. */
export function describeSelection(s: Selection): string {
  const where = (ns: string | undefined) => (ns === undefined ? 'in any namespace' : `in namespace ${ns}`);
  if (s.by === 'target') return `${s.target.text} ${where(s.namespace)}`;
  if (s.by === 'selector') return `pods matching "${s.selector}" ${where(s.namespace)}`;
  return `pods ${where(s.namespace)}`;
}

/**
 * Builds the selection from a command's target argument and flags; exactly one way of choosing pods.
 * `namespace` undefined means all namespaces (-A).
 */
export function toSelection(
  target: string | undefined,
  flags: { selector?: unknown; all?: unknown },
  namespace: string | undefined,
): Selection {
  const selector = typeof flags.selector === 'string' ? flags.selector : undefined;
  const ways = [target !== undefined, selector !== undefined, flags.all === true].filter(Boolean).length;
  if (ways > 1) throw new UsageError('choose pods one way: a TYPE/NAME target, -l SELECTOR, or --all');
  if (target !== undefined) {
    if (namespace === undefined)
      throw new UsageError('a TYPE/NAME target needs one namespace: use -n instead of -A');
    return { by: 'target', target: parseTarget(target), namespace };
  }
  if (selector !== undefined) {
    if (!selector.trim()) throw new UsageError('-l/--selector is empty: give a selector such as app=web');
    return { by: 'selector', selector, namespace };
  }
  if (flags.all === true || namespace === undefined) return { by: 'all', namespace };
  throw new UsageError('no pods chosen: give a TYPE/NAME target (e.g. po/client), -l SELECTOR, or --all');
}

/** Lists every page of a collection. */
async function listAll<T>(
  client: KubeClient,
  path: string,
  query: Record<string, string | undefined>,
  what: string,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await client.get<List<T>>(path, { query: { ...query, limit: 500, continue: token }, what });
    items.push(...(page.items ?? []));
    token = page.metadata?.continue || undefined;
  } while (token);
  return items;
}

/** `matchLabels` + `matchExpressions` (or an RC's plain map) as a labelSelector query string. */
export function selectorString(sel: LabelSelector | Record<string, string> | undefined): string {
  if (!sel) return '';
  const isStructured = 'matchLabels' in sel || 'matchExpressions' in sel;
  const labels = (isStructured ? (sel as LabelSelector).matchLabels : (sel as Record<string, string>)) ?? {};
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  for (const e of (isStructured ? (sel as LabelSelector).matchExpressions : undefined) ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

const owned = (uids: Set<string>) => (o: { metadata: { ownerReferences?: OwnerReference[] } }) =>
  (o.metadata.ownerReferences ?? []).some((r) => uids.has(r.uid));

/**
 * Resolves a selection to pods, matched by owner UID at every level as linkerd does (so a Deployment's
 * pods include those of older ReplicaSets mid-rollout, and a CronJob's are found through its Jobs). Pods
 * come back sorted by namespace and name. A missing workload is an error naming it.
 */
export async function resolvePods(client: KubeClient, s: Selection): Promise<Pod[]> {
  const podsPath = (ns: string | undefined) =>
    ns === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${ns}/pods`;
  let pods: Pod[];
  if (s.by === 'selector') {
    pods = await listAll<Pod>(
      client,
      podsPath(s.namespace),
      { labelSelector: s.selector },
      `list ${describeSelection(s)}`,
    );
  } else if (s.by === 'all') {
    pods = await listAll<Pod>(client, podsPath(s.namespace), {}, `list ${describeSelection(s)}`);
  } else {
    pods = await resolveTarget(client, s.target, s.namespace);
  }
  return pods.sort(
    (a, b) =>
      a.metadata.namespace.localeCompare(b.metadata.namespace) ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

async function resolveTarget(client: KubeClient, t: Target, ns: string): Promise<Pod[]> {
  const k = KINDS[t.kind] as { api: string; plural: string };
  const base = `${k.api}/namespaces/${ns}/${k.plural}`;
  let obj: Workload;
  try {
    obj = await client.get<Workload>(`${base}/${t.name}`, { what: `get ${t.text} in namespace ${ns}` });
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) {
      throw new ClusterError(`${t.kind} ${ns}/${t.name} not found: check the name and the namespace (-n)`, {
        cause: e,
      });
    }
    throw e;
  }
  if (t.kind === 'pod') return [obj as unknown as Pod];

  const listPods = (selector: string) =>
    listAll<Pod>(
      client,
      `/api/v1/namespaces/${ns}/pods`,
      { labelSelector: selector || undefined },
      `list pods of ${t.text}`,
    );
  const selector = selectorString(obj.spec?.selector);
  if (t.kind === 'deployment') {
    const rss = await listAll<Workload>(
      client,
      `/apis/apps/v1/namespaces/${ns}/replicasets`,
      { labelSelector: selector || undefined },
      `list replicasets of ${t.text}`,
    );
    const rsUids = new Set(rss.filter(owned(new Set([obj.metadata.uid]))).map((r) => r.metadata.uid));
    return (await listPods(selector)).filter(owned(rsUids));
  }
  if (t.kind === 'cronjob') {
    const jobs = await listAll<Workload>(
      client,
      `/apis/batch/v1/namespaces/${ns}/jobs`,
      {},
      `list jobs of ${t.text}`,
    );
    const jobUids = new Set(jobs.filter(owned(new Set([obj.metadata.uid]))).map((j) => j.metadata.uid));
    if (jobUids.size === 0) return [];
    return (await listPods('')).filter(owned(jobUids));
  }
  return (await listPods(selector)).filter(owned(new Set([obj.metadata.uid])));
}

/** A proxy admin port found on a pod. */
export interface AdminPort {
  container: string;
  port: number;
}

/**
 * Every container port (init containers included: native sidecars) whose name ends in `linkerd-admin`,
 * as linkerd's CLI finds them; the port number comes from the pod, never a hard-coded 4191.
 */
export function adminPorts(pod: Pod): AdminPort[] {
  const out: AdminPort[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? [])
      if (p.name?.endsWith('linkerd-admin')) out.push({ container: c.name, port: p.containerPort });
  }
  return out;
}

/** Why a pod cannot be scraped, or undefined when it can. */
export function unscrapableReason(pod: Pod): string | undefined {
  const id = `pod ${pod.metadata.namespace}/${pod.metadata.name}`;
  const phase = pod.status?.phase ?? 'Unknown';
  if (phase !== 'Running') return `${id} is not running (phase ${phase})`;
  if (adminPorts(pod).length === 0)
    return `${id} has no linkerd-admin port (is it injected? see 'linkerd inject')`;
  return undefined;
}
