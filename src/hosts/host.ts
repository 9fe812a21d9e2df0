/**
 * A machine the pipeline works on: the local host today, an SSH host for GCP VMs later. Paths are
 * relative to the machine's root and may not leave it; the same step code runs on either host.
 */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the process died of a signal it did not get from us. */
  code: number | null;
}

export interface ExecOptions {
  /** Working directory, relative to the host's root (default: the root). */
  cwd?: string;
  /**
   * Added to a minimal environment (PATH, HOME, locale, TZ, TMPDIR, CA and proxy settings). The
   * control plane's own environment (database URL, secrets key, …) is never passed on.
   * Secrets a command needs travel here, never in `args`: arguments are visible to every user in `ps`.
   */
  env?: Record<string, string>;
  /** The command and everything it started are killed after this long (ExecTimeoutError). */
  timeoutMs: number;
  /** Aborting kills the command and everything it started (ExecAbortedError). */
  signal?: AbortSignal;
}

export interface Host {
  /** Absolute path of `rel` inside the host's root; throws for absolute paths and `..`. */
  resolve(rel: string): string;
  mkdirp(rel: string): Promise<void>;
  /** Writes through a temp file, fsync, then rename: readers see old or new, never half. Mode default 0600. */
  writeFileAtomic(rel: string, data: string | Buffer, mode?: number): Promise<void>;
  readFile(rel: string): Promise<string>;
  exists(rel: string): Promise<boolean>;
  /** Names in a directory, sorted; [] when it does not exist. */
  list(rel: string): Promise<string[]>;
  rename(fromRel: string, toRel: string): Promise<void>;
  /** Removes a file or a directory tree; nothing if absent. Refuses the root itself. */
  remove(rel: string): Promise<void>;
  /** Runs a program without a shell. Resolves with its exit code; rejects on timeout, abort or spawn failure. */
  exec(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult>;
  /** True when something accepts TCP connections on `port` (seen from the machine itself). */
  isPortOpen(port: number, host?: string): Promise<boolean>;
}

/** A command ran past its `timeoutMs` and was killed, with everything it started. */
export class ExecTimeoutError extends Error {
  readonly timedOut = true;
  constructor(command: string, timeoutMs: number) {
    super(`${command} timed out after ${timeoutMs} ms and was stopped`);
    this.name = 'ExecTimeoutError';
  }
}

/** The caller aborted a command; it was killed, with everything it started. */
export class ExecAbortedError extends Error {
  readonly timedOut = false;
  constructor(command: string) {
    super(`${command} was aborted`);
    this.name = 'ExecAbortedError';
  }
}

/** Thrown for a path that would leave the host's root. */
export class PathEscapeError extends Error {
  constructor(rel: string, how: string) {
    super(`path '${rel}' is refused: ${how}; use a path relative to the machine root that stays inside it`);
    this.name = 'PathEscapeError';
  }
}
