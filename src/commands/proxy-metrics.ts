import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode } from '../errors.js';
import type { ScrapeResult } from '../kube/scrape.js';
import { parseDuration, parsePositiveInt } from '../options/duration.js';
import { connectSettings, namespaceFlag, resolveNamespace, type GlobalOptions } from '../options/global.js';
import { addNamespaceFlag, withExamples, type CommandInput } from './flags.js';
import { inNamespace, splitMeshed, toPodChoice, unmeshedNotice, type PodChoice } from './pods.js';

/** `proxy-metrics [TARGET]`: each pod's Linkerd proxy /metrics, like `linkerd diagnostics proxy-metrics`. */
export function command(): Command {
  const cmd = new Command('proxy-metrics')
    .description("Fetch the /metrics of each pod's Linkerd proxy through the Kubernetes API (port-forward)")
    .argument('[target]', 'TYPE/NAME: po|pod, deploy, sts, ds, rs, rc, job or cj')
    .option('-l, --selector <selector>', 'pods matching a label selector (a=b,c!=d,e in (x,y))')
    .option('--all', 'every pod in the namespace')
    .option(
      '--egress',
      'keep only samples with parent_kind="EgressNetwork" (with their HELP/TYPE/UNIT lines)',
    )
    .option(
      '--obfuscate',
      'replace identifying label values (hostnames, IPs, names) with a stable 8-hex hash',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['raw', 'json']).default('raw'))
    .option('--max-concurrency <n>', 'pods scraped at once', '16')
    .option('--timeout <duration>', 'deadline for the whole command', '30s')
    .option('--pod-timeout <duration>', 'deadline for each pod (connect, forward and read)', '10s');
  addNamespaceFlag(cmd);
  return withExamples(
    cmd,
    `
  egressctl proxy-metrics -n egress-test po/client
  egressctl proxy-metrics -n egress-test deploy/web --egress
  egressctl proxy-metrics -n egress-test -l app=web -o json | jq '.[].pod'
  egressctl proxy-metrics -n egress-test --all --obfuscate > dump.txt
  kubectl egress proxy-metrics po/client        # as a kubectl plugin`,
  );
}

interface Flags {
  selector?: string;
  all?: boolean;
  egress?: boolean;
  obfuscate?: boolean;
  output: 'raw' | 'json';
  maxConcurrency: string;
  timeout: string;
  podTimeout: string;
  namespace?: string;
}

export interface Options {
  global: GlobalOptions;
  pods: PodChoice;
  namespace: string | undefined;
  output: 'raw' | 'json';
  egress: boolean;
  obfuscate: boolean;
  concurrency: number;
  timeoutMs: number;
  podTimeoutMs: number;
}

/** Checks flags before anything touches the kubeconfig or the network. */
export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  return {
    global: input.global,
    pods: toPodChoice(input.args[0], f, false),
    namespace: namespaceFlag(f.namespace),
    output: f.output,
    egress: f.egress === true,
    obfuscate: f.obfuscate === true,
    concurrency: parsePositiveInt(f.maxConcurrency, '--max-concurrency', 256),
    timeoutMs: parseDuration(f.timeout, '--timeout'),
    podTimeoutMs: parseDuration(f.podTimeout, '--pod-timeout'),
  };
}

export async function run(opts: Options, deps: Deps): Promise<number> {
  const { describeSelection, resolvePods } = await import('../kube/resolve.js');
  const { scrapePods } = await import('../kube/scrape.js');
  const { renderPodMetrics } = await import('../render/proxy-metrics.js');
  const namespace = await resolveNamespace(opts.global, opts.namespace, deps.env);
  const client = await deps.kube(connectSettings(opts.global, namespace, { maxSockets: 8 }));
  try {
    const selection = inNamespace(opts.pods, namespace);
    const all = await resolvePods(client, selection);
    if (all.length === 0) {
      throw new ClusterError(`no pods found for ${describeSelection(selection)}`);
    }
    const { meshed: pods, unmeshed } = splitMeshed(all, selection);
    const note = unmeshedNotice(unmeshed, all.length);
    if (note) deps.err.write(`note: ${note}\n`);
    const metrics =
      opts.egress || opts.obfuscate || opts.output === 'json'
        ? await import('../metrics/index.js')
        : undefined;
    // Results are written in pod order as soon as every earlier pod is done, and their bodies dropped,
    // so memory holds only the pods in flight (200 pods x 400 KB never sit in memory at once).
    const ready = new Map<number, ScrapeResult>();
    const failures: string[] = [];
    let next = 0;
    const emit = (index: number, total: number, r: ScrapeResult): void => {
      ready.set(index, r);
      while (ready.has(next)) {
        const item = ready.get(next) as ScrapeResult;
        ready.delete(next);
        const out = renderPodMetrics(item, next, total, opts, metrics);
        item.body = undefined;
        if (out.error) failures.push(out.error);
        if (out.warning) deps.err.write(`warning: ${out.warning}\n`);
        if (opts.output === 'json') deps.out.write(`${next === 0 ? '[\n' : ',\n'}${out.text}`);
        else deps.out.write(out.text);
        next++;
        if (next === total && opts.output === 'json') deps.out.write('\n]\n');
      }
    };
    const results = await scrapePods(client, pods, {
      concurrency: opts.concurrency,
      deadlineMs: opts.timeoutMs,
      podTimeoutMs: opts.podTimeoutMs,
      signal: deps.signal,
      onResult: emit,
      ...(deps.out.backlog ? { backlog: () => deps.out.backlog?.() } : {}),
    });
    if (results.length === 0 && opts.output === 'json') deps.out.write('[]\n');
    if (failures.length > 0) {
      const first = failures[0] as string;
      deps.err.write(
        `error: ${failures.length} of ${results.length} pods failed${opts.output === 'raw' ? ' (see the # ERROR lines)' : ''}: ${first}${failures.length > 1 ? ` (and ${failures.length - 1} more)` : ''}\n`,
      );
      if (opts.global.verbose) for (const f of failures.slice(1)) deps.err.write(`  ${f}\n`);
      return ExitCode.Cluster;
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}
