import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode, UsageError } from '../errors.js';
import { parsePositiveInt } from '../options/duration.js';
import type { VizPrometheus } from '../sandbox/viz.js';
import { withExamples, type CommandInput } from './flags.js';

/** `egressctl sandbox`: runs until Ctrl-C; `--demo` walks through the Linkerd egress guide and exits. */
export function command(): Command {
  const cmd = new Command('sandbox')
    .description('Run a simulated Kubernetes + Linkerd cluster on loopback, with the egress guide preloaded')
    .option('--port <n>', 'API server port (0: any free port)', '0')
    .addOption(
      new Option('--scenario <name>', 'what to preload').choices(['guide', 'empty']).default('guide'),
    )
    .option('--state <file>', 'load objects from FILE on start and save them there on exit')
    .option('--pods <n>', 'number of simulated client pods', '1')
    .option('--rate <n>', 'simulated requests per second per destination', '5')
    .option('--tls', 'serve the API over HTTPS with a generated CA')
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
  egressctl sandbox --kubeconfig /tmp/sandbox.kubeconfig   # where to write the kubeconfig
  egressctl sandbox --demo                # the Linkerd egress guide, end to end (npm run demo)`,
  );
}

interface Flags {
  port: string;
  scenario: 'guide' | 'empty';
  state?: string;
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
  return {
    port: Number(f.port),
    scenario: f.scenario,
    state: f.state,
    pods: parsePositiveInt(f.pods, '--pods', 5000),
    rate: parsePositiveInt(f.rate, '--rate', 1000),
    tls: f.tls === true,
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
    await sb.stop();
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
    await new Promise<void>((resolve) => {
      if (deps.signal.aborted) resolve();
      deps.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    deps.err.write('stopping the sandbox\n');
    return ExitCode.Ok;
  } finally {
    if (statePath) sb.save(statePath);
    await viz?.stop();
    await sb.stop();
    if (o.kubeconfig === undefined) fs.rmSync(kubeconfigPath, { force: true });
  }
}
