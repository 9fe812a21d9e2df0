import path from 'node:path';
import { SERVICE_NAME, ServiceStartError, type ServiceSpec, type ServiceStatus, type StopResult } from './host.ts';
import type { SshConnection } from './ssh-connection.ts';
import { commandWords, envAssignments, runRemote, shQuote } from './ssh-exec.ts';

/**
 * Long-lived services of an SSH machine without systemd for us: the same design as LocalServices,
 * run by small shell scripts on the machine (one round trip per operation, the waiting done there).
 * The service is started with `setsid` (its own session and process group, no terminal, so no
 * SIGHUP when the SSH connection goes; not nohup, which would make it ignore SIGHUP for good unlike
 * a local service), its record (`<pid> <start time>`, the start time from /proc/<pid>/stat) kept in
 * a state directory outside the machine root. A record whose pid now belongs to a process with
 * another start time (pid reuse) or to a zombie is a stopped service: that process is never signalled.
 */

/** Shell functions every script starts with: `ours` is true while the recorded process lives (same start time, not a zombie). */
function prelude(stateDir: string, name: string): string {
  if (!SERVICE_NAME.test(name)) throw new ServiceStartError(name, 'a service name is lowercase letters, digits and dashes');
  return `d=${stateDir}; f="$d/${name}.pid"
stat_of() { s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s="\${s##*) }"; set -- $s; echo "$1 \${20}"; }
ours() {
  { [ -f "$f" ] && read -r pid start < "$f"; } || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  st=$(stat_of "$pid") || return 1
  [ "\${st%% *}" != Z ] && [ "\${st#* }" = "$start" ]
}
`;
}

/** Ticks of 100 ms the scripts wait in loops. */
const ticks = (ms: number) => Math.max(1, Math.ceil(ms / 100));

export class SshServices {
  /** `stateDir` is a shell word (quoted, or starting with "$HOME"), evaluated on the machine. */
  constructor(
    private readonly conn: SshConnection,
    private readonly stateDir: string,
  ) {}

  private async run(name: string, body: string, timeoutMs: number): Promise<string[]> {
    const result = await runRemote(this.conn, prelude(this.stateDir, name) + body, { label: `service ${name}`, timeoutMs });
    const last = result.stdout.trim().split('\n').pop() ?? '';
    if (result.code !== 0 || last === '')
      throw new Error(`service ${name}: the script on the machine failed (${result.code}): ${result.stderr.trim()}`);
    return last.split(' ');
  }

  async status(name: string): Promise<ServiceStatus> {
    const [state, pid] = await this.run(name, 'if ours; then echo "running $pid"; else echo none; fi', 15_000);
    return state === 'running' ? { running: true, pid: Number(pid) } : { running: false };
  }

  /** `spec.cwd` and `spec.logFile` are absolute here (SshHost resolved them inside the machine). */
  async start(spec: ServiceSpec): Promise<{ pid: number }> {
    if (!spec.command.startsWith('/')) throw new ServiceStartError(spec.name, `the program must be an absolute path, not ${spec.command}`);
    const [cwd, log, cmd] = [shQuote(spec.cwd), shQuote(spec.logFile), shQuote(spec.command)];
    const body = `(umask 077; mkdir -p "$d") && chmod 700 "$d" || { echo "error cannot create the service state directory $d"; exit 0; }
if ours; then echo "running $pid"; exit 0; fi
mkdir -p -- ${cwd} && cd -- ${cwd} || { echo "error cannot enter its working directory"; exit 0; }
[ -f ${cmd} ] && [ -x ${cmd} ] || { echo "error ${spec.command.replace(/[^\w./-]/g, '?')} is not an executable file"; exit 0; }
mkdir -p -- ${shQuote(path.posix.dirname(spec.logFile))} &&
  (umask 077; printf '\\n--- agent-fleet: starting %s at %s ---\\n' ${shQuote(spec.name)} "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> ${log}) ||
  { echo "error cannot write its log file"; exit 0; }
setsid env -i ${envAssignments(spec.env)} ${commandWords(spec.command, spec.args)} >> ${log} 2>&1 < /dev/null &
pid=$!
st=$(stat_of "$pid") || { echo "error it exited at once"; exit 0; }
printf '%s %s\\n' "$pid" "\${st#* }" > "$f.tmp" && mv -f "$f.tmp" "$f" ||
  { kill -s KILL -- "-$pid" 2>/dev/null; echo "error cannot write its record in $d"; exit 0; }
echo "started $pid"`;
    const [state, ...rest] = await this.run(spec.name, body, 30_000);
    if (state === 'started') return { pid: Number(rest[0]) };
    if (state === 'running') throw new ServiceStartError(spec.name, `it is already running (pid ${rest[0]}); stop it first`);
    throw new ServiceStartError(spec.name, rest.join(' '));
  }

  async stop(name: string, graceMs = 15_000): Promise<StopResult> {
    // SIGTERM to the group, wait; SIGKILL to the group, wait; then SIGKILL the group once more for
    // helpers that outlived their leader (the group only: the leader's pid may be reused already).
    const body = `if ! ours; then rm -f "$f"; echo none; exit 0; fi
kill -s TERM -- "-$pid" 2>/dev/null || kill -s TERM "$pid" 2>/dev/null
n=${ticks(graceMs)}; while [ "$n" -gt 0 ] && ours; do sleep 0.1; n=$((n - 1)); done
killed=false
if ours; then
  killed=true; kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid" 2>/dev/null
  n=50; while [ "$n" -gt 0 ] && ours; do sleep 0.1; n=$((n - 1)); done
  if ours; then echo "stuck $pid"; exit 0; fi
fi
kill -s KILL -- "-$pid" 2>/dev/null
rm -f "$f"
echo "stopped $pid $killed"`;
    const [state, pid, killed] = await this.run(name, body, graceMs + 15_000);
    if (state === 'none') return { stopped: false };
    if (state === 'stuck') throw new Error(`service ${name} (pid ${pid}) did not exit even after SIGKILL`);
    return { stopped: true, pid: Number(pid), killed: killed === 'true' };
  }
}
