import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { useColor, type Deps } from '../deps.js';
import { ClusterError, ExitCode, UsageError, interruptedBy } from '../errors.js';
import type { LivePolicy, StatGroupBy, StatReport } from '../metrics/stat.js';
import type { ScrapedRound } from './scrape-round.js';
import type { KubeClient } from '../kube/rest.js';
import type { StatRenderOptions } from '../render/stat.js';
import { parseDuration, parsePositiveInt } from '../options/duration.js';
import { connectSettings, namespaceFlag, resolveNamespace, type GlobalOptions } from '../options/global.js';
import {
  addPrometheusFlags,
  validatePrometheusFlags,
  type PrometheusFlags,
  type PrometheusOptions,
} from '../prometheus/flags.js';
import {
  DEFAULT_EGRESS_NAMESPACE,
  addAllNamespacesFlag,
  addListOutputFlags,
  addNamespaceFlag,
  parseOutputFlag,
  withExamples,
  type CommandInput,
} from './flags.js';
import { inNamespace, toPodChoice, unmeshedNotice, type PodChoice } from './pods.js';

/** `egress stat [TARGET]`: egress traffic per network, route and host, with what policy did to it. */
export function command(): Command {
  const cmd = new Command('stat')
    .description('Egress traffic per network, route and host, with what the policy did to it')
    .argument('[target]', 'TYPE/NAME: po|pod, deploy, sts, ds, rs, rc, job or cj')
    .option('-l, --selector <selector>', 'pods matching a label selector')
    .option('--all', 'every pod in the namespace (the default when no target is given)')
    .addOption(
      new Option('--by <dimension>', "group rows by (workload: the pods' owner)")
        .choices(['network', 'route', 'host', 'pod', 'workload'])
        .default('host'),
    )
    .option('--interval <duration>', 'scrape twice this far apart and show rates (0: totals only)', '0')
    .option('-w, --watch', 'refresh every --interval (default 10s) until Ctrl-C')
    .option(
      '--fail-on-deny',
      'exit 1 when denied traffic is seen (in the rate window when --interval is set)',
    )
    .option('--max-concurrency <n>', 'pods scraped at once', '16')
    .option('--timeout <duration>', 'deadline for each scrape round', '30s')
    .option('--pod-timeout <duration>', 'deadline for each pod', '10s');
  addListOutputFlags(cmd, STAT_OUTPUTS, 'table');
  addNamespaceFlag(cmd);
  addAllNamespacesFlag(cmd);
  addPrometheusFlags(cmd);
  return withExamples(
    cmd,
    `
  egressctl egress stat -n egress-test po/client
  egressctl egress stat -n egress-test deploy/web --by route --interval 10s
  egressctl egress stat -A --watch
  egressctl egress stat -n payments --all --interval 30s --fail-on-deny -o json   # CI gate
  egressctl egress stat -A --since 1h                                # from linkerd-viz's Prometheus
  egressctl egress stat -A --prometheus http://prometheus.monitoring:9090`,
  );
}

/** `-o` of `egress stat` (render/stat.ts has the formats; ledger is metrics/ledger.ts's document). */
const STAT_OUTPUTS = ['table', 'wide', 'name', 'json', 'yaml', 'ledger'] as const;

interface Flags extends PrometheusFlags {
  selector?: string;
  all?: boolean;
  output: string;
  headers: boolean;
  by: StatGroupBy;
  interval: string;
  watch?: boolean;
  failOnDeny?: boolean;
  maxConcurrency: string;
  timeout: string;
  podTimeout: string;
  namespace?: string;
  allNamespaces?: boolean;
}

export interface Options {
  global: GlobalOptions;
  pods: PodChoice;
  /** `-n`; undefined with `-A` (all namespaces) or when the kubeconfig says. */
  namespace: string | undefined;
  allNamespaces: boolean;
  output: (typeof STAT_OUTPUTS)[number] | 'jsonpath';
  /** The `-o jsonpath=` template. */
  template?: string;
  headers?: boolean;
  by: StatGroupBy;
  intervalMs: number;
  watch: boolean;
  failOnDeny: boolean;
  concurrency: number;
  timeoutMs: number;
  podTimeoutMs: number;
  /** Where the numbers come from (src/prometheus/stat-command.ts has the rule). */
  prometheus: PrometheusOptions;
}

/** Checks every flag before the cluster is contacted. */
export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  const all = f.allNamespaces === true;
  if (all && f.namespace !== undefined)
    throw new UsageError('-A and -n are exclusive: choose all namespaces or one');
  const watch = f.watch === true;
  const out = parseOutputFlag(f.output, STAT_OUTPUTS);
  let intervalMs = parseDuration(f.interval, '--interval');
  if (watch && intervalMs === 0) intervalMs = 10_000;
  if (intervalMs > 0 && intervalMs < 1000)
    throw new UsageError(`--interval ${f.interval} is too short: use 1s or more`);
  if (watch && out.format === 'ledger')
    throw new UsageError('-o ledger writes one window (a file for egress plan --from-file): drop --watch');
  const prometheus = validatePrometheusFlags(f);
  const target = input.args[0];
  // With no target, selector or --all, stat looks at every pod of the namespace.
  const chosen = target !== undefined || f.selector !== undefined || f.all === true;
  return {
    global: input.global,
    pods: toPodChoice(target, chosen ? f : { ...f, all: true }, all),
    namespace: namespaceFlag(f.namespace),
    allNamespaces: all,
    output: out.format,
    ...(out.template !== undefined ? { template: out.template } : {}),
    headers: f.headers !== false,
    by: f.by,
    intervalMs,
    watch,
    failOnDeny: f.failOnDeny === true,
    concurrency: parsePositiveInt(f.maxConcurrency, '--max-concurrency', 256),
    timeoutMs: parseDuration(f.timeout, '--timeout'),
    podTimeoutMs: parseDuration(f.podTimeout, '--pod-timeout'),
    prometheus,
  };
}

/** The modules the report needs, loaded when `run` starts (never for `--help`). */
async function loadStat() {
  return {
    ...(await import('./scrape-round.js')),
    ...(await import('../metrics/stat.js')),
    ...(await import('../render/stat.js')),
  };
}

type Round = ScrapedRound;

export async function run(o: Options, deps: Deps): Promise<number> {
  // The renderers serve both sources; the scrape's modules load only once the pods answer.
  const { statFormats } = await import('../render/stat.js');
  const output = o.output;
  // COLUMNS wins, as for other tools; a pipe has no width (deps.columns undefined): no limit.
  const envColumns = Number(deps.env.COLUMNS);
  const columns = Number.isInteger(envColumns) && envColumns > 0 ? envColumns : deps.columns;
  const opts = (trend?: Map<string, number[]>) => ({
    color: useColor(deps),
    headers: o.headers !== false,
    ...(columns !== undefined ? { columns } : {}),
    ...(o.template !== undefined ? { template: o.template } : {}),
    ...(trend ? { trend } : {}),
  });
  const render = (r: StatReport) => (output === 'ledger' ? '' : statFormats[output](r, opts()));
  if (o.prometheus.source !== 'pods') {
    // The same renderers for both sources; a Prometheus ledger comes back as its text.
    const { statFromPrometheus } = await import('../prometheus/stat-command.js');
    const code = await statFromPrometheus(o, deps, (r, text) => finish(r, text, o, deps), render);
    if (code !== undefined) return code;
  }
  const m = await loadStat();
  const namespace = await resolveNamespace(o.global, o.namespace, deps.env);
  const client = await deps.kube(connectSettings(o.global, namespace));
  const tty = deps.stdoutIsTTY && o.watch;
  try {
    const selection = inNamespace(o.pods, o.allNamespaces ? undefined : namespace);
    const { describeSelection } = await import('../kube/resolve.js');
    const warned = new Set<string>();
    // Progress on stderr, on a terminal only, once a round takes over a second.
    const round = async (): Promise<Round> => {
      const slow = deps.stderrIsTTY
        ? setTimeout(() => deps.err.write(`scraping ${describeSelection(selection)}...\r`), 1000)
        : undefined;
      try {
        return await m.scrapeRound(client, selection, o, deps, warned);
      } finally {
        if (slow) {
          clearTimeout(slow);
          deps.err.write('\x1b[2K\r');
        }
      }
    };
    if (tty) {
      // The alternate screen, as top and watch use: the shell's screen comes back at Ctrl-C.
      deps.out.write('\x1b[?1049h\x1b[H\x1b[2J');
      deps.out.write(
        m.renderWatchFrame(undefined, {
          ...opts(),
          at: deps.now(),
          intervalSeconds: o.intervalMs / 1000,
          selection: describeSelection(selection),
        }),
      );
    }
    try {
      const live = () => livePolicy(client, o, namespace);
      return await report(o, deps, m, {
        round,
        render,
        tty,
        opts,
        live,
        described: describeSelection(selection),
      });
    } finally {
      if (tty) deps.out.write('\x1b[?1049l');
    }
  } finally {
    client.close();
  }
}

type StatModules = Awaited<ReturnType<typeof loadStat>>;

async function report(
  o: Options,
  deps: Deps,
  m: StatModules,
  w: {
    round: () => Promise<Round>;
    render: (r: StatReport) => string;
    tty: boolean;
    opts: (trend?: Map<string, number[]>) => StatRenderOptions;
    live: () => Promise<LivePolicy | undefined>;
    described: string;
  },
): Promise<number> {
  const { round, render, tty, opts, described } = w;
  let prev: Round | undefined;
  let curr = await round();
  if (o.intervalMs > 0) {
    prev = curr;
    if (!(await wait(o.intervalMs, deps))) {
      if (o.watch) return ExitCode.Ok;
      throw interruptedBy(deps.signal, 'before the second scrape: no rates to show');
    }
    curr = await round();
  }
  const workloads = async () => {
    const { workloadOf } = await import('../metrics/ledger.js');
    return new Map(
      [...(prev?.pods ?? []), ...curr.pods].map((p) => [
        `${p.metadata.namespace}/${p.metadata.name}`,
        workloadOf(p),
      ]),
    );
  };
  if (o.output === 'ledger') {
    // The ledger of observed flows: the same model, grouped by pod and summed per workload.
    const { toLedger } = await import('../metrics/ledger.js');
    const byPod = m.toStatWindow(prev, curr, 'pod');
    const ledger = toLedger(byPod, {
      workloads: await workloads(),
      source: {
        kind: 'pods',
        selection: described,
        scraped: curr.scraped,
        failed: curr.failed.length,
      },
      start: prev?.at,
      end: curr.at,
    });
    return finish(byPod, `${JSON.stringify(ledger, null, 2)}\n`, o, deps);
  }
  const window = async (): Promise<StatReport> =>
    m.toStatWindow(prev, curr, o.by, {
      ...(o.by === 'workload' ? { workloads: await workloads() } : {}),
      ...(live ? { live } : {}),
    });
  // Totals cannot tell a frozen series from a live one, so they are checked against the current policy.
  const live = prev ? undefined : await w.live();
  let r = await window();
  const note = unmeshedNotice(r.pods.unmeshed, r.pods.total);
  if (note) deps.err.write(`note: ${note}\n`);
  if (!o.watch) return finish(r, render(r), o, deps);
  // --watch: redraw every interval until Ctrl-C, each row with its rate over the last rounds.
  const trend = new Map<string, number[]>();
  const { statRowKey } = m;
  for (;;) {
    for (const x of [...r.rows, ...r.uncaptured]) {
      const k = statRowKey(x);
      trend.set(k, [...(trend.get(k) ?? []), x.rate ?? 0].slice(-10));
    }
    const frame = tty
      ? `\x1b[H\x1b[2J${m.renderWatchFrame(r, { ...opts(trend), at: deps.now(), intervalSeconds: o.intervalMs / 1000, selection: described })}`
      : render(r);
    deps.out.write(frame);
    for (const f of r.pods.failed) deps.err.write(`warning: ${f.error}\n`);
    let next: Round | undefined;
    while (!next) {
      if (!(await wait(o.intervalMs, deps))) return ExitCode.Ok;
      try {
        next = await round();
      } catch (e) {
        // Ctrl-C is how --watch ends, even mid-round.
        if (deps.signal.aborted) return ExitCode.Ok;
        // A watch outlives a blip of the cluster (an API server restart, a 503, a lost pod list): it
        // says so, keeps the last window on screen and tries again; the next window then spans the gap.
        if (!(e instanceof ClusterError)) throw e;
        deps.err.write(`warning: ${e.message}: trying again in ${o.intervalMs / 1000}s (Ctrl-C stops)\n`);
      }
    }
    prev = curr;
    curr = next;
    r = await window();
  }
}

/**
 * The current policy's objects, to mark stale rows; undefined when they cannot be read (a 403 is
 * common for read-only users, and stat's numbers do not depend on it).
 */
async function livePolicy(
  client: KubeClient,
  o: Options,
  namespace: string,
): Promise<LivePolicy | undefined> {
  try {
    const { fetchPolicyObjects } = await import('../kube/objects.js');
    const namespaces = o.allNamespaces ? 'all' : [namespace, DEFAULT_EGRESS_NAMESPACE];
    const live = await fetchPolicyObjects(client, namespaces);
    // No EgressNetwork at all reads as "cannot see them" (or no policy yet), not as all-stale.
    if (!live.objects.some((x) => x.kind === 'EgressNetwork')) return undefined;
    return {
      objects: new Set(live.objects.map((x) => `${x.kind}/${x.metadata.namespace ?? ''}/${x.metadata.name}`)),
      namespaces,
    };
  } catch {
    return undefined;
  }
}

/** Sleeps unless interrupted; false when Ctrl-C came. */
async function wait(ms: number, deps: Deps): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: deps.signal });
    return true;
  } catch {
    return false;
  }
}

function finish(r: StatReport, text: string, o: Options, deps: Deps): number {
  deps.out.write(text);
  if (r.pods.failed.length) {
    const first = r.pods.failed[0];
    deps.err.write(
      `error: ${r.pods.failed.length} of ${r.pods.scraped} pods could not be read, so these numbers are partial: ${first?.error ?? ''}${r.pods.failed.length > 1 ? ` (and ${r.pods.failed.length - 1} more)` : ''}\n`,
    );
    return ExitCode.Cluster;
  }
  if (o.failOnDeny && r.totals.denied > 0) {
    const where = [...r.rows, ...r.uncaptured]
      .filter((x) => x.denied > 0)
      .map((x) => `${x.destination || '?'} (${x.route.name})`);
    deps.err.write(
      `denied egress seen${r.window.mode === 'rate' ? ` in the last ${r.window.seconds}s` : ''}${r.source ? ` (${r.source.server})` : ''}: ${r.totals.denied} to ${where.join(', ')}\n`,
    );
    return ExitCode.Findings;
  }
  return ExitCode.Ok;
}
