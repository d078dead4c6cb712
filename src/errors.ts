/**
 * Typed errors, each with the exit code it maps to. `main.ts` is the only place that turns them into
 * `process.exitCode`; everything else throws or returns a code.
 *
 * Exit codes (documented in the README):
 *   0 ok · 1 findings (denied traffic, failed policy cases, lint errors) · 2 usage · 3 cluster, network or
 *   partial failure (a deadline passed included) · 130 interrupted by SIGINT · 143 by SIGTERM (128 + the
 *   signal's number, as shells report a process killed by it).
 */
export const ExitCode = {
  Ok: 0,
  Findings: 1,
  Usage: 2,
  Cluster: 3,
  Interrupted: 130,
  Terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is already one user-facing line that names the object and the next step. */
export class EgressctlError extends Error {
  readonly exitCode: ExitCode;
  /** Extra detail printed only with --verbose. */
  readonly detail: string | undefined;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.detail = options?.detail;
  }
}

/**
 * Input that cannot be right, found anywhere (a URL, a CIDR, an IP, a manifest file): exit 2. The pure
 * folders throw this, never a plain `Error`, so that invalid input never looks like a cluster failure.
 */
export class InvalidInput extends EgressctlError {
  constructor(message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, ExitCode.Usage, options);
  }
}

/** Bad flags or arguments (a kind of invalid input): exit 2. */
export class UsageError extends InvalidInput {}

/** The cluster, the network or some pods failed: exit 3. */
export class ClusterError extends EgressctlError {
  constructor(message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, ExitCode.Cluster, options);
  }
}

/**
 * The command was stopped by Ctrl-C (SIGINT) or SIGTERM before it finished: exit 130 or 143. `runProcess`
 * aborts `deps.signal` with one of these as the reason, so whatever notices the abort can throw it.
 */
export class Interrupted extends EgressctlError {
  readonly signal: 'SIGINT' | 'SIGTERM';
  constructor(signal: 'SIGINT' | 'SIGTERM', message = `interrupted by ${signal}`) {
    super(message, signal === 'SIGTERM' ? ExitCode.Terminated : ExitCode.Interrupted);
    this.signal = signal;
  }
}

/**
 * The error for work stopped by an aborted `signal`: `interrupted by SIGINT` (or SIGTERM, from its
 * Interrupted reason; SIGINT for in-process callers that abort without one), then `detail`.
 */
export function interruptedBy(signal: AbortSignal, detail?: string): Interrupted {
  const r: unknown = signal.reason;
  const sig = r instanceof Interrupted ? r.signal : 'SIGINT';
  return new Interrupted(sig, `interrupted by ${sig}${detail ? ` ${detail}` : ''}`);
}

/**
 * The one mapping from a thrown value to an exit code. commander's own parse errors (unknown command,
 * bad choice) are usage errors; its `--help` and `--version` exits are not failures. Anything untyped
 * is taken as a cluster or network failure, since pure code throws `InvalidInput` for bad input.
 */
export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof EgressctlError) return e.exitCode;
  // Duck-typed so that the pure folders, which import this file, never pull in commander.
  const c = e as { code?: unknown; exitCode?: unknown } | null;
  if (typeof c?.code === 'string' && c.code.startsWith('commander.'))
    return c.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  return ExitCode.Cluster;
}

/** One line for any thrown value, without a stack. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.message;
  return String(e);
}
