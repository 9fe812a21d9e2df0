/**
 * A machine the pipeline works on: this host (LocalHost, the local driver) or a VM reached over
 * SSH (SshHost, the GCP driver). Paths are relative to the machine's root and may not leave it;
 * the same step code runs on either host. Everything the gateway needs goes through here (files,
 * commands, long-lived services, HTTP from the machine itself), so src/gateway never touches fs,
 * spawn, /proc or 127.0.0.1 of the control plane directly.
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
   * (SshHost passes them through `env -i NAME=value … cmd`, so on the VM they are in the argv of
   * its shell and of `env` for the few milliseconds until the command is exec'd; see ssh-exec.ts.)
   */
  env?: Record<string, string>;
  /** The command and everything it started are killed after this long (ExecTimeoutError). */
  timeoutMs: number;
  /** Aborting kills the command and everything it started (ExecAbortedError). */
  signal?: AbortSignal;
}

/** What a service name may be (ServiceSpec.name): it becomes a file name on the machine. */
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** A long-lived process on the machine that outlives the worker (and the SSH connection) that started it. */
export interface ServiceSpec {
  /** Unique on the machine: lowercase letters, digits and dashes (e.g. `openclaw-gateway`). */
  name: string;
  /** Absolute path of the program on the machine. */
  command: string;
  args: string[];
  /** The service's whole environment: nothing is inherited (build it from an allow-list). */
  env: Record<string, string>;
  /** Working directory, relative to the host's root. */
  cwd: string;
  /** stdout and stderr are appended here (relative to the root; created mode 0600). */
  logFile: string;
}

export interface ServiceStatus {
  running: boolean;
  /** The service's main pid while it runs. */
  pid?: number;
}

export interface StopResult {
  /** False when there was nothing running to stop. */
  stopped: boolean;
  pid?: number;
  /** True when SIGTERM was not enough within the grace period and it was killed. */
  killed?: boolean;
}

/** An HTTP answer received by the machine itself (bodies are cut at 1 MiB). */
export interface HttpAnswer {
  status: number;
  body: string;
}

export interface Host {
  /** Absolute path of `rel` inside the host's root (as the machine sees it); throws for absolute paths and `..`. */
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
  /**
   * Starts `spec` detached from this process, in its own process group, with a record (pid and
   * process start time) the host keeps outside the machine root (LocalHost: beside the root;
   * SshHost: ~/.fleet-services/ on the VM), or, on an SSH machine that runs systemd and lets the
   * user sudo (a GCE VM), as an enabled system unit run as that user. Resolves once the process
   * exists; a service of that name that runs already is an error (stop it first). Rejects with
   * ServiceStartError when it cannot be started.
   */
  startService(spec: ServiceSpec): Promise<{ pid: number }>;
  /**
   * Stops the named service and everything in its process group: SIGTERM, SIGKILL after
   * `graceMs` (default 15 s). Idempotent. Never signals a process the host did not start as that
   * service (pid reuse is checked).
   */
  stopService(name: string, opts?: { graceMs?: number }): Promise<StopResult>;
  serviceStatus(name: string): Promise<ServiceStatus>;
  /**
   * An HTTP request made from the machine itself to 127.0.0.1:`port` (over SSH through a forwarded
   * connection, so no port has to be open to the control plane). Rejects on connection failure or
   * timeout (HostHttpError) with the reason.
   */
  request(
    port: number,
    path: string,
    opts: { timeoutMs: number; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  ): Promise<HttpAnswer>;
  /** Releases what the host holds (an SSH connection); services keep running. */
  close(): Promise<void>;
}

/** A service could not be started: the program is missing, not executable, or the name is taken. */
export class ServiceStartError extends Error {
  constructor(name: string, reason: string) {
    super(`could not start service ${name}: ${reason}`);
    this.name = 'ServiceStartError';
  }
}

/** An HTTP request from the machine got no answer (refused, reset, timed out). */
export class HostHttpError extends Error {
  constructor(
    readonly port: number,
    readonly reason: 'refused' | 'timeout' | 'reset' | 'other',
    detail: string,
  ) {
    super(`no HTTP answer from 127.0.0.1:${port} on the machine (${reason}: ${detail})`);
    this.name = 'HostHttpError';
  }
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
