import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ExitCode } from '../errors.js';
import { validateNamespace } from '../manifests/validate.js';
import { connectSettings, namespaceFlag, resolveNamespace, type GlobalOptions } from '../options/global.js';
import { addNamespaceFlag, addTimeoutFlag, withExamples, type CommandInput } from './flags.js';

/** The client's version: package.json's, which cli.ts's VERSION mirrors (test/cli.test.ts checks both). */
export const CLIENT_VERSION = '0.1.0';

/** Where Linkerd's control plane runs by default (`linkerd install`, Helm `linkerd-control-plane`). */
const LINKERD_NAMESPACE = 'linkerd';
/** The annotation that turns the proxy's hostname labels on for a pod or namespace. */
const HOSTNAME_LABELS_ANNOTATION = 'config.linkerd.io/proxy-metrics-hostname-labels';

/**
 * `version`: the client's version and, when a cluster answers within --timeout, what egressctl's
 * output depends on there: the Kubernetes version, Linkerd's, the Gateway API bundle, and whether the
 * proxies label metrics with hostnames. An unreachable cluster is a note on stderr, not a failure,
 * as with `kubectl version`.
 */
export function command(): Command {
  const cmd = new Command('version')
    .description("Print the client's version and the cluster's Kubernetes, Linkerd and Gateway API versions")
    .option('--client', 'the client version only: contact no cluster')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--linkerd-namespace <ns>', "Linkerd's control plane namespace", LINKERD_NAMESPACE);
  addNamespaceFlag(cmd);
  addTimeoutFlag(cmd, '3s', 'reading the cluster');
  return withExamples(
    cmd,
    `
  egressctl version
  egressctl version -o json | jq .server.linkerd.version`,
  );
}

interface Flags {
  client?: boolean;
  output: 'text' | 'json';
  linkerdNamespace: string;
  namespace?: string;
}

export interface Options {
  global: GlobalOptions;
  client: boolean;
  output: Flags['output'];
  linkerdNamespace: string;
  namespace: string | undefined;
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  return {
    global: input.global,
    client: f.client === true,
    output: f.output,
    linkerdNamespace: validateNamespace('--linkerd-namespace', f.linkerdNamespace),
    namespace: namespaceFlag(f.namespace),
  };
}

/** `version -o json`. */
export interface VersionReport {
  apiVersion: 'egressctl.linkerd.io/v1';
  kind: 'Version';
  client: { version: string };
  /** Absent with --client or when the cluster could not be read (see notes). */
  server?: {
    kubernetes: { gitVersion: string; major: string; minor: string; platform?: string } | null;
    /** Read from the `linkerd-config` ConfigMap, as `linkerd version` does; null when not found. */
    linkerd: { version: string; namespace: string } | null;
    /** Kind → the `gateway.networking.k8s.io/bundle-version` annotation of its CRD. */
    gatewayAPI: { bundleVersions: Record<string, string> };
    /** Whether the proxies of `namespace` export hostname labels, and what said so. */
    hostnameLabels: { namespace: string; enabled: boolean; source: string };
  };
  notes: string[];
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const report: VersionReport = {
    apiVersion: 'egressctl.linkerd.io/v1',
    kind: 'Version',
    client: { version: `v${CLIENT_VERSION}` },
    notes: [],
  };
  if (!o.client) {
    try {
      const ns = await resolveNamespace(o.global, o.namespace, deps.env);
      const client = await deps.kube(connectSettings(o.global, ns));
      try {
        report.server = await fetchServer(client, ns, o.linkerdNamespace, report.notes);
      } finally {
        client.close();
      }
    } catch (e) {
      const { errorMessage } = await import('../errors.js');
      report.notes.push(`note: no cluster version: ${errorMessage(e)}`);
    }
  }
  // Notes last in JSON, after what was found.
  const { notes, ...found } = report;
  if (o.output === 'json') deps.out.write(`${JSON.stringify({ ...found, notes }, null, 2)}\n`);
  else deps.out.write(renderVersion(report));
  for (const n of report.notes) deps.err.write(`${n}\n`);
  return ExitCode.Ok;
}

type Client = Awaited<ReturnType<Deps['kube']>>;

async function fetchServer(
  client: Client,
  namespace: string,
  linkerdNamespace: string,
  notes: string[],
): Promise<NonNullable<VersionReport['server']>> {
  const { ApiError } = await import('../kube/rest.js');
  const { fetchBundleVersions } = await import('../kube/crds.js');
  const { KINDS } = await import('../kinds.js');
  const yaml = await import('yaml');
  // Bundled, the CommonJS build of yaml arrives as a default export (as in manifests/serialize.ts).
  const { parse } = (yaml.default as typeof yaml | undefined) ?? yaml;
  const absent = (e: unknown): boolean => e instanceof ApiError && (e.code === 404 || e.code === 403);
  // /version first: it fails fast when the server is not there, and then nothing else is tried.
  const v = await client.get<{ gitVersion?: string; major?: string; minor?: string; platform?: string }>(
    '/version',
    { what: 'get /version' },
  );
  const kubernetes = {
    gitVersion: v.gitVersion ?? '',
    major: v.major ?? '',
    minor: v.minor ?? '',
    ...(v.platform ? { platform: v.platform } : {}),
  };
  // linkerd2 `pkg/healthcheck` GetServerVersion: the `linkerdVersion` of the Helm values stored in the
  // `values` key of ConfigMap linkerd-config. Its `proxy.metrics.hostnameLabels` is the proxies' default.
  let linkerd: { version: string; namespace: string } | null = null;
  let values: { linkerdVersion?: unknown; proxy?: { metrics?: { hostnameLabels?: unknown } } } = {};
  try {
    const cm = await client.get<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${encodeURIComponent(linkerdNamespace)}/configmaps/linkerd-config`,
      { what: `get configmap ${linkerdNamespace}/linkerd-config` },
    );
    values = (parse(cm.data?.values ?? '') ?? {}) as typeof values;
    if (typeof values.linkerdVersion === 'string' && values.linkerdVersion !== '')
      linkerd = { version: values.linkerdVersion, namespace: linkerdNamespace };
    else notes.push(`note: configmap ${linkerdNamespace}/linkerd-config has no linkerdVersion in its values`);
  } catch (e) {
    if (!absent(e)) throw e;
    notes.push(
      `note: Linkerd not found: no configmap ${linkerdNamespace}/linkerd-config (is the control plane elsewhere? pass --linkerd-namespace)`,
    );
  }
  const gatewayKinds = KINDS.filter((k) => k.crd && k.group === 'gateway.networking.k8s.io').map(
    (k) => k.kind,
  );
  const bundles = await fetchBundleVersions(client, gatewayKinds);
  notes.push(...bundles.notes);
  // Hostname labels: the namespace's annotation, else the control plane's proxy default (a pod's own
  // annotation can still differ; `egress stat` says so per pod).
  let hostnameLabels = {
    namespace,
    enabled: values.proxy?.metrics?.hostnameLabels === true,
    source: linkerd
      ? `linkerd-config proxy.metrics.hostnameLabels`
      : 'the proxy default (off since Linkerd 2.18)',
  };
  try {
    const nsObj = await client.get<{ metadata?: { annotations?: Record<string, string> } }>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}`,
      { what: `get namespace ${namespace}` },
    );
    const a = nsObj.metadata?.annotations?.[HOSTNAME_LABELS_ANNOTATION];
    if (a !== undefined)
      hostnameLabels = {
        namespace,
        enabled: a === 'true',
        source: `namespace annotation ${HOSTNAME_LABELS_ANNOTATION}=${a}`,
      };
  } catch (e) {
    if (!absent(e)) throw e;
  }
  return {
    kubernetes,
    linkerd,
    gatewayAPI: {
      bundleVersions: Object.fromEntries([...bundles.versions].sort(([a], [b]) => a.localeCompare(b))),
    },
    hostnameLabels,
  };
}

/** `version`'s text, kubectl's `Client Version:` style. */
export function renderVersion(r: VersionReport): string {
  const lines = [`Client Version: ${r.client.version}`];
  const s = r.server;
  if (s) {
    if (s.kubernetes) lines.push(`Kubernetes Version: ${s.kubernetes.gitVersion}`);
    lines.push(
      `Linkerd Version: ${s.linkerd ? `${s.linkerd.version} (namespace ${s.linkerd.namespace})` : 'unavailable'}`,
    );
    const bundles = Object.entries(s.gatewayAPI.bundleVersions);
    const distinct = [...new Set(bundles.map(([, v]) => v))];
    lines.push(
      `Gateway API Bundle Version: ${
        bundles.length === 0
          ? 'unavailable'
          : distinct.length === 1
            ? distinct[0]
            : bundles.map(([k, v]) => `${k} ${v}`).join(', ')
      }`,
    );
    lines.push(
      `Hostname Labels: ${s.hostnameLabels.enabled ? 'on' : 'off'} in namespace ${s.hostnameLabels.namespace} (${s.hostnameLabels.source})`,
    );
  }
  return `${lines.join('\n')}\n`;
}
