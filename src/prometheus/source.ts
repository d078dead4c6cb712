import { inNamespace, type PodChoice } from '../commands/pods.js';
import type { Deps } from '../deps.js';
import { ClusterError, UsageError } from '../errors.js';
import { describeSelection, resolvePods } from '../kube/resolve.js';
import type { KubeClient } from '../kube/rest.js';
import { readAuthFiles, urlEndpoint, type Auth, type Endpoint } from './client.js';
import { discoverVizPrometheus } from './discover.js';
import { parsePrometheusUrl, type PrometheusOptions } from './flags.js';
import { workloadLabel, type PromScope } from './queries.js';

/**
 * Which source answers `egress stat`, `egress learn` and `egress plan` (one rule, documented in the
 * README):
 *   - `--source pods`: the proxies;
 *   - `--prometheus URL` or $EGRESSCTL_PROMETHEUS (with `--source auto|prometheus`): that server;
 *   - `--source prometheus`, or `--since` (only Prometheus has history): linkerd-viz's, discovered;
 *   - otherwise (auto, nothing asked): the proxies.
 */
export type SourceChoice = { type: 'pods' } | { type: 'url'; url: URL } | { type: 'discover' };

export function chooseSource(p: PrometheusOptions, env: NodeJS.ProcessEnv): SourceChoice {
  if (p.source === 'pods') return { type: 'pods' };
  const fromEnv = env.EGRESSCTL_PROMETHEUS;
  const url = p.url ?? (fromEnv ? parsePrometheusUrl(fromEnv, 'EGRESSCTL_PROMETHEUS') : undefined);
  if (url) return { type: 'url', url };
  if (p.source === 'prometheus' || p.sinceSeconds !== undefined) return { type: 'discover' };
  return { type: 'pods' };
}

/** The auth flags' files, read once (a missing one is a usage error naming the flag). */
async function readAuth(p: PrometheusOptions): Promise<Auth> {
  const auth: Auth = { ...readAuthFiles(p), headers: p.headers };
  if (p.basicAuthFile) {
    const { readFileSync } = await import('node:fs');
    try {
      auth.basic = readFileSync(p.basicAuthFile, 'utf8').trim();
    } catch (e) {
      throw new UsageError(
        `cannot read --prometheus-basic-auth-file ${p.basicAuthFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  return auth;
}

/**
 * The server to query for a choice that is not `pods`: the URL, or linkerd-viz's Prometheus found
 * through the API server (`kube` opens the client only then).
 */
export async function promEndpoint(
  choice: Exclude<SourceChoice, { type: 'pods' }>,
  p: PrometheusOptions,
  o: { timeoutMs: number },
  kube: () => Promise<KubeClient>,
): Promise<Endpoint> {
  const auth = await readAuth(p);
  if (choice.type === 'url') return urlEndpoint(choice.url, auth);
  const endpoint = await discoverVizPrometheus(await kube(), {
    auth,
    connectTimeoutMs: Math.min(o.timeoutMs, 10_000),
  });
  if (!endpoint)
    throw new ClusterError(
      `${p.sinceSeconds !== undefined ? '--since needs Prometheus, but ' : ''}no namespace is labelled linkerd.io/extension=viz: pass --prometheus URL (or set EGRESSCTL_PROMETHEUS), or install linkerd-viz`,
    );
  return endpoint;
}

/**
 * The client pods as PromQL matchers: a namespace (undefined: all), a TYPE/NAME target as viz's owner
 * label, or a label selector resolved to pod names through the API server (viz keeps only the pods'
 * owner labels, not their own).
 */
export async function promScope(
  pods: PodChoice,
  namespace: string | undefined,
  kube: () => Promise<KubeClient>,
): Promise<PromScope> {
  const scope: PromScope = { namespace };
  if (pods.by === 'target')
    scope.workload = { label: workloadLabel(pods.target.kind, pods.target.text), name: pods.target.name };
  else if (pods.by === 'selector') {
    if (namespace === undefined)
      throw new UsageError('-l with the Prometheus source needs one namespace: use -n, or --source pods');
    const selection = inNamespace(pods, namespace);
    const found = await resolvePods(await kube(), selection);
    if (found.length === 0) throw new ClusterError(`no pods found for ${describeSelection(selection)}`);
    scope.pods = found.map((x) => x.metadata.name);
  }
  return scope;
}

/**
 * What every Prometheus read of a command shares: one evaluation time for all its queries, Ctrl-C,
 * the deadline, and the server's warnings on stderr.
 */
export function promRead(
  deps: Deps,
  o: { scope: PromScope; windowSeconds: number | undefined; deadlineMs: number },
) {
  return {
    ...o,
    at: deps.now(),
    signal: deps.signal,
    onWarning: (w: string) => deps.err.write(`warning: ${w}\n`),
  };
}

/** A Prometheus answer without a single proxy in the scope: it does not scrape them (exit 3). */
export function noProxies(endpoint: Endpoint, pods: PodChoice, namespace: string | undefined): ClusterError {
  // A named scope may simply be wrong (a typo, no meshed pods there): say how to look, as kubectl would.
  const look =
    pods.by === 'target'
      ? `check that ${pods.target.text} exists and is meshed (kubectl get ${pods.target.text} -n ${namespace ?? ''}), and `
      : namespace !== undefined
        ? `check that namespace ${namespace} has meshed pods, and `
        : 'check ';
  return new ClusterError(
    `${endpoint.name} has no linkerd-proxy series (proxy_build_info) for ${describeSelection(inNamespace(pods, namespace))}: ${look}that it scrapes the proxies, as linkerd-viz's scrape config does`,
  );
}
