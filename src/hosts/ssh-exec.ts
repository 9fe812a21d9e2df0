import { ExecAbortedError, type ExecResult, ExecTimeoutError } from './host.ts';
import { MAX_OUTPUT_CHARS } from './local-exec.ts';
import type { ClientChannel } from 'ssh2';
import type { SshConnection } from './ssh-connection.ts';
import { TransientError } from '../domain/step-errors.ts';

/**
 * Commands on an SSH machine. sshd hands a command string to the user's login shell, so nothing
 * of ours reaches it unquoted: every argument is single-quoted, and the script runs under
 * `/bin/sh -c` so the login shell's dialect does not matter. sshd makes each session's process a
 * session and process-group leader (checked by the tests); our script `exec`s into that same
 * process and first prints its pid, which is therefore the pgid to kill on timeout or abort.
 */

/** Single-quotes `s` for a POSIX shell: `'` becomes `'\''`. NUL cannot be passed at all. */
export function shQuote(s: string): string {
  if (s.includes('\0')) throw new Error('an argument for the machine contains a NUL byte');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What a command keeps of the remote login environment (as local-exec keeps of ours). */
const INHERITED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'LC_ALL', 'TZ', 'TMPDIR'];
const PGID_LINE = /fleet-pgid:(\d+)\n/;
const NO_PROGRAM = 'fleet-exec:enoent\n';
const NO_CWD = 'fleet-exec:nocwd\n';
/** After a kill, how long to wait for the channel to close before giving up on it. */
const CLOSE_GRACE_MS = 2_000;

/** `NAME='value' …` for `env`: the caller's variables, names checked (a bad one would be taken for the command). */
export function envAssignments(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
      return shQuote(`${k}=${v}`);
    })
    .join(' ');
}

/** `'cmd' 'arg' …`: the program refused when `env` would take it for a variable. */
export function commandWords(cmd: string, args: string[]): string {
  if (cmd === '' || cmd.includes('=') || cmd.startsWith('-')) throw new Error(`invalid program name ${JSON.stringify(cmd)}`);
  return [cmd, ...args].map(shQuote).join(' ');
}

/** The script of Host.exec: cwd, the program looked up (so a missing one is ENOENT as locally), then exec. */
export function execScript(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const inherited = INHERITED.map((v) => `\${${v}+"${v}=$${v}"}`).join(' ');
  const lookupPath = env.PATH === undefined ? '' : `PATH=${shQuote(env.PATH)}; `;
  return [
    `cd -- ${shQuote(cwd)} 2>/dev/null || { printf '${NO_CWD}' >&2; exit 127; }`,
    `(${lookupPath}command -v -- ${shQuote(cmd)}) >/dev/null 2>&1 || { printf '${NO_PROGRAM}' >&2; exit 127; }`,
    `exec env -i ${inherited} ${envAssignments(env)} ${commandWords(cmd, args)} </dev/null`,
  ].join('\n');
}

export interface RemoteRunOptions {
  /** Names the command in errors. */
  label: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Runs `script` under /bin/sh on the machine, with local-exec's semantics: bounded output, the tree killed on timeout/abort. */
export function runRemote(conn: SshConnection, script: string, opts: RemoteRunOptions): Promise<ExecResult> {
  if (opts.signal?.aborted) return Promise.reject(new ExecAbortedError(opts.label));
  const command = `exec /bin/sh -c ${shQuote(`printf 'fleet-pgid:%s\\n' "$$" >&2\n${script}`)}`;
  return new Promise((resolve, reject) => {
    const out = { stdout: '', stderr: '' };
    let pgid: number | undefined;
    let failure: Error | undefined;
    let code: number | null | undefined;
    let settled = false;
    let channel: ClientChannel | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const killGroup = () => {
      if (pgid === undefined) return; // not started yet: killed as soon as it says its pgid
      // A channel of its own, past the session limit (there is always room for one more).
      conn
        .exec(`kill -s KILL -- -${pgid} 2>/dev/null; true`, (k) => k.resume().once('close', () => channel?.close()), { unlimited: true })
        .catch(() => channel?.close());
    };
    const fail = (why: Error) => {
      if (failure || settled) return;
      failure = why;
      killGroup();
      // Normally the channel closes as soon as the group is dead; do not wait on it forever.
      graceTimer = setTimeout(() => {
        channel?.close();
        settle(() => reject(failure));
      }, CLOSE_GRACE_MS);
    };
    const timer = setTimeout(() => fail(new ExecTimeoutError(opts.label, opts.timeoutMs)), opts.timeoutMs);
    const onAbort = () => fail(new ExecAbortedError(opts.label));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const collect = (key: 'stdout' | 'stderr') => (chunk: string) => {
      out[key] += chunk;
      if (key === 'stderr' && pgid === undefined) {
        const m = PGID_LINE.exec(out.stderr);
        if (!m) return;
        pgid = Number(m[1]);
        // Whatever came before is the login shell's (its rc files), not the command's.
        out.stderr = out.stderr.slice(m.index + m[0].length);
        if (failure) killGroup();
      }
      if (out[key].length > 2 * MAX_OUTPUT_CHARS) out[key] = out[key].slice(-MAX_OUTPUT_CHARS);
    };

    conn
      .exec(command, (ch) => {
        channel = ch;
        ch.setEncoding('utf8').on('data', collect('stdout'));
        ch.stderr.setEncoding('utf8').on('data', collect('stderr'));
        ch.on('exit', (c: number | null) => (code = typeof c === 'number' ? c : null));
        ch.once('close', () => {
          const trim = (s: string) => (s.length > MAX_OUTPUT_CHARS ? s.slice(-MAX_OUTPUT_CHARS) : s);
          if (failure) return settle(() => reject(failure));
          if (code === undefined)
            return settle(() => reject(new TransientError(`${opts.label}: the SSH connection to ${conn.address} was lost while it ran`)));
          if (code === 127 && out.stderr === NO_PROGRAM) return settle(() => reject(noProgram(opts.label, '')));
          if (code === 127 && out.stderr === NO_CWD)
            return settle(() => reject(noProgram(opts.label, ' (its working directory does not exist)')));
          settle(() => resolve({ stdout: trim(out.stdout), stderr: trim(out.stderr), code: code ?? null }));
        });
      })
      .catch((e: unknown) => settle(() => reject(failure ?? e)));
  });
}

/** What spawn gives for a missing program or working directory, so callers handle both hosts alike. */
function noProgram(label: string, why: string): Error {
  return Object.assign(new Error(`spawn ${label} ENOENT${why}`), { code: 'ENOENT', errno: -2, syscall: `spawn ${label}`, path: label });
}
