import { spawn } from 'node:child_process';
import path from 'node:path';
import { ExecAbortedError, type ExecResult, ExecTimeoutError } from './host.ts';

/**
 * Running a program on this machine for LocalHost: no shell, a minimal environment, bounded
 * output, and the whole process tree killed on timeout or abort.
 */

/** What a command inherits from the control plane: what programs need to run, nothing secret. */
const INHERITED_ENV =
  /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z_]+|TZ|TMPDIR|SSL_CERT_FILE|SSL_CERT_DIR|NODE_EXTRA_CA_CERTS|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy)$/;

/** Output kept per stream: the tail, where errors are. Bounded so a chatty command cannot eat the worker's memory. */
export const MAX_OUTPUT_CHARS = 1 << 20;

/** After a kill, how long to wait for the pipes to close before giving up on them. */
const CLOSE_GRACE_MS = 2_000;

export function minimalEnv(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && INHERITED_ENV.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Run as this user (the fleet's OS user): its uid and gid, no supplementary groups. */
  user?: { uid: number; gid: number };
}

export function runProcess(cmd: string, args: string[], opts: RunOptions): Promise<ExecResult> {
  const name = path.basename(cmd);
  if (opts.signal?.aborted) return Promise.reject(new ExecAbortedError(name));
  return new Promise((resolve, reject) => {
    // detached: the child leads its own process group, so one kill reaches everything it started
    // (git's remote helpers, npm's scripts), not just the direct child.
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: minimalEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      shell: false,
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
    });
    const out = { stdout: '', stderr: '' };
    const collect = (key: 'stdout' | 'stderr') => (chunk: string) => {
      out[key] += chunk;
      if (out[key].length > 2 * MAX_OUTPUT_CHARS) out[key] = out[key].slice(-MAX_OUTPUT_CHARS);
    };
    child.stdout.setEncoding('utf8').on('data', collect('stdout'));
    child.stderr.setEncoding('utf8').on('data', collect('stderr'));

    let failure: Error | undefined;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const killTree = (why: Error) => {
      failure ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const timer = setTimeout(() => killTree(new ExecTimeoutError(name, opts.timeoutMs)), opts.timeoutMs);
    const onAbort = () => killTree(new ExecAbortedError(name));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (e) => settle(() => reject(e)));
    child.once('exit', () => {
      // A killed tree may leave a grandchild holding the pipes (one that escaped the group);
      // do not wait on it forever once we know we are failing.
      if (failure) {
        graceTimer = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          settle(() => reject(failure));
        }, CLOSE_GRACE_MS);
      }
    });
    child.once('close', (code) => {
      const trim = (s: string) => (s.length > MAX_OUTPUT_CHARS ? s.slice(-MAX_OUTPUT_CHARS) : s);
      settle(() => (failure ? reject(failure) : resolve({ stdout: trim(out.stdout), stderr: trim(out.stderr), code })));
    });
  });
}
