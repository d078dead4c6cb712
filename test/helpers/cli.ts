import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, spawned as a user would (`npm test` builds first). */
export const BIN = fileURLToPath(new URL('../../bin/egressctl.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `egressctl ...args` in a child process and collects its output. The environment is the test's,
 * minus KUBECONFIG and colour variables unless given, so a developer's cluster is never touched.
 */
export function runCli(
  args: string[],
  opts: {
    env?: Record<string, string | undefined>;
    input?: string;
    timeoutMs?: number;
    cwd?: string;
    /** Another executable than bin/egressctl.js (the kubectl-egress link: test/helpers/plugin.ts). */
    bin?: string;
  } = {},
): Promise<CliResult> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    KUBECONFIG: '/nonexistent/kubeconfig',
    HOME: process.env.HOME,
  };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  Object.assign(env, opts.env ?? {});
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], { env, cwd: opts.cwd, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}
