import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode, UsageError } from '../errors.js';
import { parseDuration, parsePositiveInt } from '../options/duration.js';
import type { VizPrometheus } from '../sandbox/viz.js';
import { withExamples, type CommandInput } from './flags.js';

/**
 * `egressctl sandbox`: runs until SIGINT or SIGTERM (main aborts deps.signal), then closes every socket,
 * saves `--state` and exits 0 (3 when that last save failed); `--demo` walks through the guide and exits.
 */
export function command(): Command {
  const cmd = new Command('sandbox')
    .description('Run a simulated Kubernetes + Linkerd cluster on loopback, with the egress guide preloaded')
    .option('--port <n>', 'API server port (0: any free port)', '0')
    .addOption(
      new Option('--scenario <name>', 'what to preload').choices(['guide', 'empty']).default('guide'),
    )
    .option(
      '--state <file>',
      'load objects from FILE on start; save them there (atomically) when they change and on exit',
    )
    .option('--save-interval <duration>', 'with --state: how often changed objects are saved', '5s')
    .option('--pods <n>', 'number of simulated client pods', '1')
    .option('--rate <n>', 'simulated requests per second per destination', '5')
    // HTTPS by default: kubectl (client-go) sends credentials only over TLS, so a plain-HTTP server
    // answers kubectl 401. --no-tls is for clients that send a token over HTTP (client-node does).
    .option('--tls', 'serve the API over HTTPS with a generated CA (the default)')
    .option('--no-tls', 'serve plain HTTP (kubectl then sends no token: use egressctl or client-node)')
    .option(
      '--prometheus',
      "run a real Prometheus (Debian's prometheus) scraping the proxies, as linkerd-viz's, found by egress stat",
    )
    .option(
      '--demo',
      'walk through the Linkerd egress guide, printing each egressctl command and its output, then exit',
    );
  return withExamples(
    cmd,
    `
  egressctl sandbox                       # prints: export KUBECONFIG=…
  egressctl sandbox --port 6443 --state sandbox.json
  egressctl sandbox --no-tls              # plain HTTP (kubectl sends no credentials over it)
  egressctl sandbox --kubeconfig /tmp/sandbox.kubeconfig   # where to write the kubeconfig
  egressctl sandbox --demo                # the Linkerd egress guide, end to end (npm run demo)

Ctrl-C (SIGINT) or SIGTERM stops the sandbox: it closes every connection, saves --state and exits 0;
exit 3 when that last save failed (the previous state is left whole). A --state that cannot be read,
or whose folder cannot be written, is refused at start with exit 2.`,
  );
}

interface Flags {
  port: string;
  scenario: 'guide' | 'empty';
  state?: string;
  saveInterval: string;
  pods: string;
  rate: string;
  tls?: boolean;
  prometheus?: boolean;
  demo?: boolean;
}

export interface Options {
  port: number;
  scenario: Flags['scenario'];
  /** `--state`, as given (resolved against the working directory in `run`). */
  state: string | undefined;
  saveEveryMs: number;
  pods: number;
  rate: number;
  tls: boolean;
  /** `--prometheus`: a real Prometheus beside the sandbox (src/sandbox/viz.ts). */
  prometheus: boolean;
  demo: boolean;
  /** The global `--kubeconfig`: here, where to write the sandbox's kubeconfig (else a temp file). */
  kubeconfig: string | undefined;
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  if (!/^\d+$/.test(f.port) || Number(f.port) > 65535)
    throw new UsageError(`invalid --port "${f.port}": want 0 (any free port) to 65535`);
  const saveEveryMs = parseDuration(f.saveInterval, '--save-interval');
  if (saveEveryMs < 10 || saveEveryMs > 3_600_000)
    throw new UsageError(`invalid --save-interval ${f.saveInterval}: want 10ms to 1h`);
  return {
    port: Number(f.port),
    scenario: f.scenario,
    state: f.state,
    saveEveryMs,
    pods: parsePositiveInt(f.pods, '--pods', 5000),
    rate: parsePositiveInt(f.rate, '--rate', 1000),
    tls: f.tls !== false,
    prometheus: f.prometheus === true,
    demo: f.demo === true,
    kubeconfig: input.global.kubeconfig,
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { pods, rate } = o;
  const statePath = o.state !== undefined ? path.resolve(deps.cwd, o.state) : undefined;
  const kubeconfigPath =
    o.kubeconfig !== undefined
      ? path.resolve(deps.cwd, o.kubeconfig)
      : path.join(os.tmpdir(), `egressctl-sandbox-${process.pid}.kubeconfig`);
  const { startSandbox } = await import('../sandbox/sandbox.js');
  const t0 = deps.now();
  let sb: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sb = await startSandbox({
      port: o.port,
      tls: o.tls,
      scenario: o.scenario,
      pods,
      rate,
      statePath,
      saveEveryMs: o.saveEveryMs,
      onSaveError: (e) =>
        deps.err.write(`warning: ${e.message} (trying again every ${o.saveEveryMs / 1000}s)\n`),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      throw new ClusterError(`port ${o.port} is in use: choose another --port, or 0 for any free port`);
    throw e;
  }
  try {
    sb.server.writeKubeconfig(kubeconfigPath, { namespace: 'egress-test', token: 'sandbox-token' });
  } catch (e) {
    await sb.stop().catch(() => undefined);
    throw new UsageError(
      `cannot write the kubeconfig to ${kubeconfigPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  let viz: VizPrometheus | undefined;
  if (o.prometheus) {
    const { prometheusBinary, startVizPrometheus, PROMETHEUS_BINARY } = await import('../sandbox/viz.js');
    if (!prometheusBinary()) {
      await sb.stop();
      throw new UsageError(
        `--prometheus needs ${PROMETHEUS_BINARY}: install the Debian package prometheus (apt-get install prometheus)`,
      );
    }
    viz = await startVizPrometheus({ server: sb.server, world: sb.world, intervalS: 5 });
  }
  const readyMs = deps.now() - t0;
  try {
    if (o.demo) {
      const { runDemo } = await import('../sandbox/demo.js');
      return await runDemo(sb, kubeconfigPath, deps);
    }
    deps.out.write(
      `Sandbox ready in ${readyMs} ms: a simulated cluster with Linkerd's egress guide (${pods} client pod${pods > 1 ? 's' : ''}) at ${sb.server.url}\n\n` +
        `  export KUBECONFIG=${kubeconfigPath}\n\n` +
        'Then try:\n' +
        '  egressctl egress stat -n egress-test po/client --interval 5s\n' +
        '  egressctl egress deny -n egress-test\n' +
        '  egressctl egress allow -n egress-test http://httpbin.org/get https://httpbin.org\n' +
        '  egressctl egress get -n egress-test\n' +
        '  egressctl egress check -n egress-test https://github.com\n' +
        '  egressctl proxy-metrics -n egress-test po/client --egress\n' +
        (viz
          ? `  egressctl egress stat -A --since 5m      # from Prometheus at ${viz.url}, found through linkerd-viz\n`
          : '') +
        '\n' +
        'Press Ctrl-C to stop.\n',
    );
    // Stopping saves the state: give it time, rather than have main's 900 ms unwind cut the save off,
    // and let a failed save say 3, not 130.
    deps.ownShutdown?.(15_000);
    await new Promise<void>((resolve) => {
      if (deps.signal.aborted) resolve();
      deps.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    deps.err.write('stopping the sandbox\n');
    return ExitCode.Ok;
  } finally {
    try {
      await viz?.stop();
      // Closes every socket, then saves --state; a failed save throws its one line (exit 3) after.
      await sb.stop();
    } finally {
      if (o.kubeconfig === undefined) fs.rmSync(kubeconfigPath, { force: true });
    }
  }
}
