import { CommanderError } from 'commander';
import path from 'node:path';
import { buildProgram, shapeOf, toPluginText } from './cli.js';

export { buildProgram };
import type { Deps } from './deps.js';
import { EgressctlError, ExitCode, Interrupted, errorMessage, exitCodeOf } from './errors.js';

/**
 * Runs egressctl with `argv` (without node and the script) and returns the exit code. Every thrown error
 * ends here as one line on stderr; stack traces only with --verbose.
 */
export async function main(argv: string[], outer: Deps): Promise<number> {
  let code: number = ExitCode.Ok;
  let owned = false;
  const deps: Deps = {
    ...outer,
    ownShutdown: (graceMs) => {
      owned = true;
      outer.ownShutdown?.(graceMs);
    },
  };
  const shape = shapeOf(deps.invokedAs);
  const say = shape.plugin ? toPluginText : (t: string) => t;
  const program = buildProgram(deps, (c) => (code = c), undefined, shape);
  // The shells' completion scripts and kubectl_complete-egress ask here (cobra's protocol); it is not a
  // command of the tree it walks, and it never fails: a broken completion must not print errors.
  if (argv[0] === '__complete') {
    const { runComplete } = await import('./commands/complete.js');
    return runComplete(program, argv.slice(1), deps);
  }
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  // A command stopped by Ctrl-C that did not finish cleanly exits 130 or 143 whatever it failed with
  // (a pod "interrupted", a request cut off). One that ends on Ctrl-C by design (`stat --watch`, `sandbox`)
  // returns 0 and keeps it.
  const interrupted = (exit: number): number =>
    exit !== ExitCode.Ok && deps.signal.aborted && !owned ? interruptCode(deps.signal) : exit;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return interrupted(code);
  } catch (e) {
    const exit = interrupted(exitCodeOf(e));
    // commander has already printed its own errors (and --help / --version their text).
    if (e instanceof CommanderError) return exit;
    deps.err.write(say(`error: ${errorMessage(e)}\n`));
    if (verbose) {
      if (e instanceof EgressctlError) {
        if (e.detail) deps.err.write(`${e.detail}\n`);
        if (e.cause instanceof Error) deps.err.write(`cause: ${e.cause.stack ?? e.cause.message}\n`);
      } else if (e instanceof Error && e.stack) deps.err.write(`${e.stack}\n`);
    }
    return exit;
  }
}

function interruptCode(signal: AbortSignal): number {
  return signal.reason instanceof Interrupted ? signal.reason.exitCode : ExitCode.Interrupted;
}

/**
 * How long the first signal leaves a command to unwind before the process exits anyway. Every socket
 * listens to the signal, so this only guards against a bug; pipes are written synchronously on Linux,
 * so output already printed is not lost.
 */
const UNWIND_MS = 900;

/**
 * Wires `main` to the real process. Never calls process.exit while a command runs normally: piped
 * output must flush first. The first SIGINT or SIGTERM aborts `deps.signal`, which every request,
 * port-forward and credential plugin listens to; a second one exits at once.
 */
/** What stdout may hold for a slow reader before a scrape waits for it (about 20 proxy bodies). */
const OUT_BACKLOG_BYTES = 8 << 20;

/**
 * Settles when `s` has written out what it queued (or closed), if it holds more than the budget. One
 * promise for every waiter (the scrape's workers) until then.
 */
let pendingBacklog: Promise<void> | undefined;
function backlog(s: NodeJS.WriteStream): Promise<void> | undefined {
  if (s.writableLength <= OUT_BACKLOG_BYTES) return undefined;
  return (pendingBacklog ??= new Promise((resolve) => {
    const done = (): void => {
      for (const e of ['drain', 'close', 'error']) s.off(e, done);
      pendingBacklog = undefined;
      resolve();
    };
    for (const e of ['drain', 'close', 'error']) s.once(e, done);
  }));
}

export async function runProcess(o: { argv?: string[] } = {}): Promise<void> {
  const controller = new AbortController();
  const shutdown = { owned: false, graceMs: UNWIND_MS };
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    const code = sig === 'SIGTERM' ? ExitCode.Terminated : ExitCode.Interrupted;
    if (controller.signal.aborted) process.exit(code);
    controller.abort(new Interrupted(sig));
    // Once main has returned, its code stands (a leaked handle must not turn 0 into 130).
    setTimeout(() => process.exit(process.exitCode ?? code), shutdown.graceMs).unref();
  };
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // `egressctl … | head` is fine
  });
  const deps: Deps = {
    out: { write: (s) => void process.stdout.write(s), backlog: () => backlog(process.stdout) },
    err: { write: (s) => void process.stderr.write(s) },
    env: process.env,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
    cwd: process.cwd(),
    signal: controller.signal,
    now: () => Date.now(),
    stdin: () => readStdin(),
    ownShutdown: (graceMs) => Object.assign(shutdown, { owned: true, graceMs }),
    kube: async (settings) => (await import('./kube/rest.js')).connect(settings, process.env),
    // npm links each `bin` name to the same script, so the name it was run by is the only difference.
    invokedAs: path.basename(process.argv[1] ?? 'egressctl'),
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.exitCode = await main(o.argv ?? process.argv.slice(2), deps);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** All of standard input, for `-f -`. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
