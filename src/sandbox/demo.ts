import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { useColor, type Deps } from '../deps.js';
import { ClusterError, ExitCode } from '../errors.js';
import { GUIDE } from './guide.js';
import type { Sandbox } from './sandbox.js';

/** Works from src/sandbox (tsx) and dist/chunks (the bundle): both are two levels below the package. */
const BIN = fileURLToPath(new URL('../../bin/egressctl.js', import.meta.url));

/**
 * The Linkerd egress guide (the steps of guide.ts), end to end, against the sandbox: each step runs the
 * real CLI as a user would, prints the command and its output, and waits (bounded) until the simulated
 * traffic shows the change before going on.
 */
export async function runDemo(sb: Sandbox, kubeconfig: string, deps: Deps): Promise<number> {
  const color = useColor(deps);
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
  const say = (s: string) => deps.out.write(`\n${bold(`# ${s}`)}\n`);

  const egressctl = (
    args: readonly string[],
    o: { maxLines?: number | undefined; expectCode?: number[] } = {},
  ) =>
    new Promise<string>((resolve, reject) => {
      deps.out.write(`${bold(`$ egressctl ${args.join(' ')}`)}\n`);
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { ...deps.env, KUBECONFIG: kubeconfig, ...(color ? { FORCE_COLOR: '1' } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const lines = out.trimEnd().split('\n');
        const max = o.maxLines ?? 40;
        deps.out.write(
          `${lines.slice(0, max).join('\n')}${lines.length > max ? `\n… (${lines.length - max} more lines)` : ''}\n`,
        );
        if (err) deps.out.write(err);
        if (!(o.expectCode ?? [0]).includes(code ?? -1))
          reject(
            new ClusterError(
              `demo step "egressctl ${args.join(' ')}" exited ${code}: ${err.trim().split('\n')[0] ?? ''}`,
            ),
          );
        else resolve(out);
      });
    });

  /** Waits until the simulated proxies' latest decision for `url` is `verdict` (at most 10 s). */
  const waitFor = async (url: string, verdict: string, why: string) => {
    const deadline = Date.now() + 10_000;
    while (sb.latest().get(url)?.verdict !== verdict) {
      if (Date.now() > deadline)
        throw new ClusterError(
          `the demo waited 10s for ${url} to be ${verdict} (${why}) and it is still ${sb.latest().get(url)?.verdict ?? 'unknown'}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let a little traffic flow under the new policy before looking at it.
    await new Promise((r) => setTimeout(r, 600));
  };
  deps.out.write(
    `Linkerd's egress guide on a simulated cluster (${sb.server.url}); KUBECONFIG=${kubeconfig}\n`,
  );
  for (const [i, step] of GUIDE.entries()) {
    say(`${i + 1}. ${step.title}`);
    for (const c of step.run) await egressctl(c.args, { maxLines: c.demoLines, expectCode: [c.exitCode] });
    if (step.waitFor) await waitFor(step.waitFor.url, step.waitFor.verdict, step.waitFor.why);
    for (const c of step.show) await egressctl(c.args, { maxLines: c.demoLines, expectCode: [c.exitCode] });
  }
  deps.out.write(`\n${bold('Done.')} Run 'egressctl sandbox' to explore on your own.\n`);
  return ExitCode.Ok;
}
