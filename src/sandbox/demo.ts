import { useColor, type Deps } from '../deps.js';
import { ClusterError, ExitCode } from '../errors.js';
import { commandLine, grepOutput, GUIDE, waitsOf, type GuideCommand, type GuideWait } from './guide.js';
import type { Sandbox } from './sandbox.js';

/** How long the demo waits for the simulated traffic to show a change before it gives up. */
const WAIT_MS = 10_000;

/**
 * The Linkerd egress guide (the steps of guide.ts), end to end, against the sandbox: each step runs the
 * CLI's own `main` with the argv a user types, prints the command line and its output (through the
 * step's `| grep`, as the guide reads it), and waits (bounded) until the simulated traffic shows the
 * change before going on. The commands run in this process, through a kubeconfig and the API server's
 * socket like any client: a new Node process per command costs about 0.3 s of startup, and the guide
 * has nearly thirty (test/sandbox.test.ts replays the same table with the built CLI, one process
 * per command).
 */
export async function runDemo(sb: Sandbox, kubeconfig: string, deps: Deps): Promise<number> {
  const color = useColor(deps);
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
  const say = (s: string) => deps.out.write(`\n${bold(`# ${s}`)}\n`);
  const env = { ...deps.env, KUBECONFIG: kubeconfig, ...(color ? { FORCE_COLOR: '1' } : {}) };
  const { main } = await import('../main.js');
  const { connect } = await import('../kube/rest.js');

  const egressctl = async (c: GuideCommand): Promise<void> => {
    const line = commandLine(c);
    deps.out.write(`${bold(`$ ${line}`)}\n`);
    let out = '';
    let err = '';
    const code = await main([...c.args], {
      ...deps,
      out: { write: (s) => void (out += s) },
      err: { write: (s) => void (err += s) },
      env,
      // Output is captured, as a pipe would: no in-place redrawing.
      stdoutIsTTY: false,
      kube: (settings) => connect(settings, env),
    });
    const shown = grepOutput(c, out);
    const lines = shown.trimEnd().split('\n');
    const max = c.demoLines ?? 40;
    deps.out.write(
      `${lines.slice(0, max).join('\n')}${lines.length > max ? `\n… (${lines.length - max} more lines)` : ''}\n`,
    );
    if (err) deps.out.write(err);
    if (code !== c.exitCode)
      throw new ClusterError(
        `demo step "${line}" exited ${code}, not ${c.exitCode}: ${err.trim().split('\n')[0] ?? ''}`,
      );
    if (c.grep?.length && shown === '')
      throw new ClusterError(`demo step "${line}" printed no line: the simulated traffic did not show it`);
  };

  /** Waits until the simulated proxies' latest decision for each URL is the one wanted (bounded). */
  const waitFor = async (waits: readonly GuideWait[]) => {
    const deadline = Date.now() + WAIT_MS;
    const pending = () => waits.find((w) => sb.latest().get(w.url)?.verdict !== w.verdict);
    for (let w = pending(); w; w = pending()) {
      if (Date.now() > deadline)
        throw new ClusterError(
          `the demo waited ${WAIT_MS / 1000}s for ${w.url} to be ${w.verdict} (${w.why}) and it is still ${sb.latest().get(w.url)?.verdict ?? 'unknown'}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  deps.out.write(
    `Linkerd's egress guide on a simulated cluster (${sb.server.url}); KUBECONFIG=${kubeconfig}\n`,
  );
  for (const [i, step] of GUIDE.entries()) {
    say(`${i + 1}. ${step.title}`);
    for (const c of step.run) await egressctl(c);
    await waitFor(waitsOf(step));
    for (const c of step.show) await egressctl(c);
  }
  deps.out.write(`\n${bold('Done.')} Run 'egressctl sandbox' to explore on your own.\n`);
  return ExitCode.Ok;
}
