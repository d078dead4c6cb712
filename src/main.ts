import { CommanderError } from 'commander';
import { buildProgram } from './cli.js';

export { buildProgram };
import type { Deps } from './deps.js';
import { EgressctlError, ExitCode, errorMessage, exitCodeOf } from './errors.js';

/**
 * Runs egressctl with `argv` (without node and the script) and returns the exit code. Every thrown error
 * ends here as one line on stderr; stack traces only with --verbose.
 */
export async function main(argv: string[], deps: Deps): Promise<number> {
  let code: number = ExitCode.Ok;
  const program = buildProgram(deps, (c) => (code = c));
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    const exit = exitCodeOf(e);
    // commander has already printed its own errors (and --help / --version their text).
    if (e instanceof CommanderError) return exit;
    deps.err.write(`error: ${errorMessage(e)}\n`);
    if (verbose) {
      if (e instanceof EgressctlError) {
        if (e.detail) deps.err.write(`${e.detail}\n`);
        if (e.cause instanceof Error) deps.err.write(`cause: ${e.cause.stack ?? e.cause.message}\n`);
      } else if (e instanceof Error && e.stack) deps.err.write(`${e.stack}\n`);
    }
    return exit;
  }
}

/** Wires `main` to the real process. Never calls process.exit: piped output must flush first. */
export async function runProcess(): Promise<void> {
  const controller = new AbortController();
  let interrupted = 0;
  const onSignal = (): void => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // `egressctl … | head` is fine
  });
  const deps: Deps = {
    out: { write: (s) => void process.stdout.write(s) },
    err: { write: (s) => void process.stderr.write(s) },
    env: process.env,
    stdoutIsTTY: process.stdout.isTTY === true,
    cwd: process.cwd(),
    signal: controller.signal,
    now: () => Date.now(),
    stdin: () => readStdin(),
    kube: async (settings) => (await import('./kube/rest.js')).connect(settings, process.env),
  };
  process.exitCode = await main(process.argv.slice(2), deps);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** All of standard input, for `-f -`. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
