import type { ConnectSettings, KubeClient } from './kube/rest.js';

/**
 * The I/O a command gets. Commands never touch `process` directly, so tests can pass in-memory sinks and
 * production has no test seams.
 */
export interface Sink {
  write(chunk: string): void;
  /**
   * A promise when much of what was written still waits for its reader (stdout into a slow pipe), that
   * settles once it has gone; undefined otherwise. A command that writes as fast as it scrapes waits on
   * it between pods, so its memory holds a few bodies, not every one its reader has yet to take.
   * In-memory sinks have none.
   */
  backlog?(): Promise<void> | undefined;
}

export interface Deps {
  /** Command output only (tables, JSON, YAML, metrics). */
  out: Sink;
  /** Errors, warnings, progress. */
  err: Sink;
  env: NodeJS.ProcessEnv;
  /** Whether stdout is a terminal (colour, in-place refresh). */
  stdoutIsTTY: boolean;
  /** Whether stderr is a terminal (progress lines). */
  stderrIsTTY?: boolean;
  /** The terminal's width when stdout is one; undefined for a pipe (tables are not cut). */
  columns?: number;
  cwd: string;
  /**
   * Aborted on the first Ctrl-C (SIGINT) or SIGTERM, with an `Interrupted` as its reason (which carries
   * the exit code, 130 or 143). Every kube client listens to it (cli.ts binds it into `kube`).
   */
  signal: AbortSignal;
  /**
   * Called by a command that stops itself on the first signal and whose shutdown does real work (the
   * sandbox saves its state): the process then waits `graceMs` for it instead of 900 ms, and keeps the
   * exit code the command returns (a failed save is 3, not 130). A second signal still exits at once.
   * A function, so that it reaches the process through every copy of `deps`.
   */
  ownShutdown?: (graceMs: number) => void;
  /** Reads all of standard input (`-f -`); absent where there is none (in-process tests). */
  stdin?: () => Promise<string>;
  /** Wall clock, injectable for tests of rates. */
  now: () => number;
  /**
   * Opens a Kubernetes API client: `runProcess` wires it to `kube/rest.ts` `connect`; tests may point
   * it at a sandbox API server in-process. The caller closes the client.
   */
  kube: (settings: ConnectSettings) => Promise<KubeClient>;
  /**
   * The executable's name as run (process.argv[1]'s basename): `kubectl-egress` (or
   * `kubectl_complete-egress`) makes the program the kubectl plugin, whose egress verbs are top level.
   */
  invokedAs?: string;
}

/** Colour is on only for a TTY, and never with NO_COLOR set (https://no-color.org). */
export function useColor(deps: Pick<Deps, 'env' | 'stdoutIsTTY'>, flag?: boolean): boolean {
  if (flag === false) return false;
  if (deps.env.NO_COLOR !== undefined && deps.env.NO_COLOR !== '') return false;
  if (deps.env.FORCE_COLOR !== undefined && deps.env.FORCE_COLOR !== '0') return true;
  return deps.stdoutIsTTY;
}
