import { UsageError } from '../errors.js';
import type { Target } from '../kube/resolve.js';
import type { WorkloadRef } from '../metrics/ledger.js';

type Kind = Target['kind'];

/**
 * The PromQL of the egress view. Pure. Every query is ONE aggregation over all matching series
 * (`sum by (<row labels>)`), so a command sends the same number of queries for 10 pods as for 10,000 and
 * gets back one series per row, not per pod. Label names are linkerd2-proxy's
 * (`linkerd/app/outbound/src/metrics.rs`), plus the `namespace`, `pod` and owner labels
 * (`deployment`, `statefulset`, `daemonset`, `replicaset`, `k8s_job`, `cronjob`) that linkerd-viz's
 * scrape config adds (`viz/charts/linkerd-viz/templates/prometheus.yaml`); `namespace` is the CLIENT's.
 */

/** Which client pods: a namespace (undefined: all), optionally one workload or an explicit pod list. */
export interface PromScope {
  namespace: string | undefined;
  /** A relabelled owner label and its value: `deployment="web"`. */
  workload?: { label: string; name: string } | undefined;
  /** Exact pod names (from a label selector resolved through the API server). */
  pods?: string[] | undefined;
}

/** The viz label each TYPE/NAME target maps to (kinds viz does not relabel are refused). */
const WORKLOAD_LABEL: Partial<Record<Kind, string>> = {
  pod: 'pod',
  deployment: 'deployment',
  statefulset: 'statefulset',
  daemonset: 'daemonset',
  replicaset: 'replicaset',
  job: 'k8s_job',
  cronjob: 'cronjob',
};

export function workloadLabel(kind: Kind, text: string): string {
  const l = WORKLOAD_LABEL[kind];
  if (!l)
    throw new UsageError(
      `${text}: linkerd-viz's Prometheus has no label for ${kind}s: use --source pods, or a pod, deploy, sts, ds, rs, job or cj target`,
    );
  return l;
}

/** A PromQL string literal (PromQL accepts Go's escapes, which JSON's are a subset of). */
export const str = (s: string): string => JSON.stringify(s);

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function scopeMatchers(s: PromScope): string[] {
  const m: string[] = [];
  if (s.namespace !== undefined) m.push(`namespace=${str(s.namespace)}`);
  if (s.workload) m.push(`${s.workload.label}=${str(s.workload.name)}`);
  if (s.pods) m.push(`pod=~${str(s.pods.map(escapeRegex).join('|'))}`);
  return m;
}

/** What the model reads of each family (`metrics/egress.ts`), and the labels that make its rows. */
export type Part = 'statuses' | 'duration' | 'backend' | 'open' | 'close';

export interface FamilyQuery {
  /** The family as the model names it (`outbound_http_route_request_statuses`). */
  family: string;
  /** The series Prometheus stores (`…_total`, `…_bucket`). */
  series: string;
  part: Part;
  /** For the one-line error: `HTTP request statuses`. */
  purpose: string;
}

/** The model's families (`metrics/egress.ts` FAMILY) as Prometheus stores their series. */
export const FAMILIES: FamilyQuery[] = [
  ...(['http', 'grpc'] as const).flatMap((p): FamilyQuery[] => {
    const name = p === 'http' ? 'HTTP' : 'gRPC';
    return [
      {
        family: `outbound_${p}_route_request_statuses`,
        series: `outbound_${p}_route_request_statuses_total`,
        part: 'statuses',
        purpose: `${name} request statuses`,
      },
      {
        family: `outbound_${p}_route_request_duration_seconds`,
        series: `outbound_${p}_route_request_duration_seconds_bucket`,
        part: 'duration',
        purpose: `${name} request latency`,
      },
      {
        family: `outbound_${p}_route_backend_response_statuses`,
        series: `outbound_${p}_route_backend_response_statuses_total`,
        part: 'backend',
        purpose: `${name} redirects to Services`,
      },
    ];
  }),
  ...(['tls', 'tcp'] as const).flatMap((p): FamilyQuery[] => [
    {
      family: `outbound_${p}_route_open`,
      series: `outbound_${p}_route_open_total`,
      part: 'open',
      purpose: `${p.toUpperCase()} connections opened`,
    },
    {
      family: `outbound_${p}_route_close`,
      series: `outbound_${p}_route_close_total`,
      part: 'close',
      purpose: `${p.toUpperCase()} connections closed`,
    },
  ]),
];

/** The labels a row is made of (`EgressModel.row`), for every protocol. */
const ROW = [
  'parent_kind',
  'parent_namespace',
  'parent_name',
  'parent_port',
  'route_kind',
  'route_namespace',
  'route_name',
  'hostname',
  'target_ip',
  'target_port',
];

const EXTRA: Record<Part, string[]> = {
  statuses: ['http_status', 'grpc_status', 'error'],
  duration: ['le'],
  backend: ['backend_kind', 'backend_namespace', 'backend_name', 'backend_port'],
  open: [],
  close: ['error'],
};

/** Egress series: captured by an EgressNetwork, or sent to egress-fallback (no EgressNetwork matched). */
function egressSelectors(name: string, scope: PromScope, extra: string[] = []): string[] {
  const base = [...scopeMatchers(scope), ...extra];
  const sel = (m: string[]) => `{${[name, ...m, ...base].join(',')}}`;
  return [
    sel(['parent_kind="EgressNetwork"']),
    sel(['parent_kind="default"', 'parent_name="egress-fallback"']),
  ];
}

/**
 * `sum by (row labels [, namespace, pod]) (...)` of one family: the bare counters (totals since each
 * proxy started, what the pods source shows) or, with `windowSeconds`, `increase()` over the window.
 * For the latency buckets, the model's quantile() over this `sum by (le, ...)` is histogram_quantile
 * over the same vector (the bucket ratios of increase() and rate() are the same), so one query gives
 * p50, p95 and p99; rate, not viz's irate, which sees only the last two samples.
 */
export function familyQuery(
  f: FamilyQuery,
  scope: PromScope,
  o: { windowSeconds?: number | undefined; perPod: boolean; workload?: boolean },
): string {
  const by = [
    ...ROW,
    ...EXTRA[f.part],
    ...(o.perPod ? ['namespace', 'pod'] : []),
    ...(o.workload ? ['namespace', WORKLOAD] : []),
  ];
  // Only Service backends mark a redirect; the others would only add series.
  const extra = f.part === 'backend' ? ['backend_kind="Service"'] : [];
  const parts = egressSelectors(`__name__=${str(f.series)}`, scope, extra).map((s) => {
    const v = o.windowSeconds ? `increase(${s}[${o.windowSeconds}s])` : s;
    return o.workload ? withWorkload(v) : v;
  });
  return `sum by (${by.join(',')}) (${parts.join(' or ')})`;
}

/** The family each protocol's rows are counted under (a TLS row has open and close series). */
const ROW_FAMILY: Record<string, string> = {
  http: 'outbound_http_route_request_statuses',
  grpc: 'outbound_grpc_route_request_statuses',
  tls: 'outbound_tls_route_open',
  tcp: 'outbound_tcp_route_open',
};

/**
 * One series per (row, pod) that sent on it: `group by (row labels, namespace, pod, family)` over the
 * families that create rows. label_replace names the row's family, since increase() drops `__name__`.
 */
function membership(
  scope: PromScope,
  o: { windowSeconds?: number | undefined; workload?: boolean },
  tcp: boolean,
  labels: string[] = ROW,
): string {
  // A row's pods are those with its request (HTTP, gRPC) or open (TLS, TCP) series: close series,
  // one per error, would only add work (rows of only closes without opens do not occur).
  const parts = FAMILIES.filter(
    (f) => Object.values(ROW_FAMILY).includes(f.family) && f.family.startsWith('outbound_tcp_') === tcp,
  )
    .flatMap((f) =>
      egressSelectors(`__name__=${str(f.series)}`, scope).map((s) => {
        const v = o.windowSeconds ? `increase(${s}[${o.windowSeconds}s]) > 0` : s;
        const named = `label_replace(${v}, "egressctl_family", ${str(f.family)}, "", "")`;
        return o.workload ? withWorkload(named) : named;
      }),
    )
    .join(' or ');
  const by = [...labels, 'namespace', 'pod', 'egressctl_family', ...(o.workload ? [WORKLOAD] : [])];
  return `group by (${by.join(',')}) (${parts})`;
}

/** Which pods sent on which row: one series per (row, pod), so asked only when there are few. */
export function podsQuery(scope: PromScope, o: { windowSeconds?: number | undefined }): string {
  return `${membership(scope, o, false)} or ${membership(scope, o, true)}`;
}

/**
 * How many pods sent on each row at the grain of `--by` (network, route or host): one series per row.
 * The labels are exactly those of the row's key (`EgressModel.row`, `groupRows`), so no pod is
 * counted twice.
 */
export function podCountsQuery(
  scope: PromScope,
  o: { windowSeconds?: number | undefined; by: 'network' | 'route' | 'host'; workload?: boolean },
): string {
  const base = ['parent_kind', 'parent_namespace', 'parent_name', 'parent_port', 'egressctl_family'];
  const route = o.by === 'network' ? [] : ['route_kind', 'route_namespace', 'route_name'];
  const dest = (tcp: boolean) => (o.by !== 'host' ? [] : tcp ? ['target_ip', 'target_port'] : ['hostname']);
  // The group by leaves one series per (grain row, pod), so a pod on two hosts of a route is one.
  const count = (tcp: boolean) => {
    const g = [...base, ...route, ...dest(tcp)];
    const by = [...g, ...(o.workload ? ['namespace', WORKLOAD] : [])];
    return `count by (${by.join(',')}) (${membership(
      scope,
      o,
      tcp,
      g.filter((l) => l !== 'egressctl_family'),
    )})`;
  };
  return `${count(false)} or ${count(true)}`;
}

/**
 * The pods whose HTTP, gRPC or TLS egress series carry `hostname=""` (hostname labels off): a
 * `count by (namespace, pod)`, not a read of every series.
 */
export function hostnamesOffQuery(scope: PromScope): string {
  const names = FAMILIES.filter((f) => !f.family.startsWith('outbound_tcp_') && f.part !== 'backend')
    .map((f) => f.series)
    .join('|');
  const parts = egressSelectors(`__name__=~${str(names)}`, scope, ['hostname=""']);
  return `count by (namespace,pod) (${parts.join(' or ')})`;
}

/** How many proxies Prometheus sees in the scope (every linkerd2-proxy exports proxy_build_info). */
export function proxiesQuery(scope: PromScope): string {
  const m = scopeMatchers(scope).join(',');
  return `count(count by (namespace,pod) (proxy_build_info{${m}}))`;
}

/**
 * The owner labels, in the order that names a pod's workload as `workloadOf` (metrics/ledger.ts) does
 * from the API server: the injector labels a Deployment's pod with both `deployment` and `replicaset`,
 * a CronJob's with `k8s_job` and `cronjob`, and the workload is the Deployment, or the Job.
 */
const OWNER_ORDER: WorkloadRef['kind'][] = [
  'deployment',
  'statefulset',
  'daemonset',
  'job',
  'replicaset',
  'replicationcontroller',
];

const ownerLabel = (k: WorkloadRef['kind']): string => WORKLOAD_LABEL[k as Kind] ?? k;

/** One series per proxy in the scope, labelled with its pod and owner labels (`--by workload`, ledgers). */
export function ownersQuery(scope: PromScope): string {
  const m = scopeMatchers(scope).join(',');
  return `group by (namespace,pod,${OWNER_ORDER.map(ownerLabel).join(',')}) (proxy_build_info{${m}})`;
}

/** The workload of a pod from its series' owner labels; a pod without one is its own workload. */
export function ownerOf(metric: Record<string, string>): WorkloadRef {
  for (const kind of OWNER_ORDER) {
    const name = metric[ownerLabel(kind)];
    if (name) return { kind, name };
  }
  return { kind: 'pod', name: metric.pod ?? '' };
}

/** The label `withWorkload` gives each series: its workload as `kind/name` (`deployment/web`). */
export const WORKLOAD = 'egressctl_workload';

/**
 * `v` with each series' workload in one label, as `ownerOf` names it: label_replace leaves a series
 * alone where its source label is empty, so the chain runs from the pod up to the owner that names the
 * workload first (a Deployment's pod also carries `replicaset`; the Deployment, applied last, wins).
 * Summing by it gives one series per row and workload, not per pod.
 */
export function withWorkload(v: string): string {
  let out = `label_replace(${v}, "${WORKLOAD}", "pod/$1", "pod", "(.+)")`;
  for (const kind of [...OWNER_ORDER].reverse())
    out = `label_replace(${out}, "${WORKLOAD}", "${kind}/$1", "${ownerLabel(kind)}", "(.+)")`;
  return out;
}
