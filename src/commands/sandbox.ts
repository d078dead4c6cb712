import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { optString, type RawInput } from '../cli/context.js';
import { parsePositiveInt } from '../cli/duration.js';
import type { Deps } from '../deps.js';
import { ClusterError, ExitCode, UsageError } from '../errors.js';

/** `egressctl sandbox`: runs until Ctrl-C; `--demo` walks through the Linkerd egress guide and exits. */
export async function run(input: RawInput, deps: Deps): Promise<number> {
  const o = input.opts;
  const portText = optString(o, 'port', '0');
  if (!/^\d+$/.test(portText) || Number(portText) > 65535)
    throw new UsageError(`invalid --port "${portText}": want 0 (any free port) to 65535`);
  const pods = parsePositiveInt(optString(o, 'pods', '1'), '--pods', 5000);
  const rate = parsePositiveInt(optString(o, 'rate', '5'), '--rate', 1000);
  const statePath = typeof o.state === 'string' ? path.resolve(deps.cwd, o.state) : undefined;
  const kubeconfigPath =
    typeof o.kubeconfig === 'string'
      ? path.resolve(deps.cwd, o.kubeconfig)
      : path.join(os.tmpdir(), `egressctl-sandbox-${process.pid}.kubeconfig`);
  const { startSandbox } = await import('../sandbox/sandbox.js');
  const t0 = deps.now();
  let sb: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sb = await startSandbox({
      port: Number(portText),
      tls: o.tls === true,
      scenario: optString(o, 'scenario', 'guide') as 'guide' | 'empty',
      pods,
      rate,
      statePath,
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      throw new ClusterError(`port ${portText} is in use: choose another --port, or 0 for any free port`);
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
  const readyMs = deps.now() - t0;
  try {
    if (o.demo === true) {
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
        '  egressctl proxy-metrics -n egress-test po/client --egress\n\n' +
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
    await sb.stop();
    if (typeof o.kubeconfig !== 'string') fs.rmSync(kubeconfigPath, { force: true });
  }
}
