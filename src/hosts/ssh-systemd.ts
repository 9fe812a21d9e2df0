import { SERVICE_NAME, ServiceStartError, type ServiceSpec, type ServiceStatus, type StopResult } from './host.ts';
import type { SshConnection } from './ssh-connection.ts';
import { runRemote, shQuote } from './ssh-exec.ts';

/**
 * Long-lived services of an SSH machine that runs systemd (a GCE VM): each one a system unit that
 * runs as the SSH user, enabled so it comes back after a reboot, restarted by systemd when it
 * crashes, and in a cgroup of its own, so a stop reaches everything it started and nothing else.
 * Installing a unit needs passwordless sudo, which GCE gives the users of `ssh-keys` metadata.
 * SshHost picks this or the pidfile services (ssh-services.ts) by asking the machine once.
 *
 * The service's environment (the gateway token among it) goes to an EnvironmentFile of mode 600 in
 * the user's service state directory, never into the unit, which /etc/systemd/system shows to all.
 */

/** A systemd command-line word: double-quoted, with systemd's own escapes (`%` specifiers, `$` variables). */
export function systemdWord(s: string): string {
  if (/[\0\n\r]/.test(s)) throw new Error('a word for a systemd unit cannot contain NUL or line breaks');
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** One `NAME="value"` line of an EnvironmentFile (backslash, quote, `$` and backtick escaped). */
export function environmentFileLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
  if (/[\0\n\r]/.test(value)) throw new Error(`the value of ${name} cannot contain NUL or line breaks`);
  return `${name}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export interface UnitSpec {
  description: string;
  user: string;
  /** Absolute paths on the machine. */
  cwd: string;
  logFile: string;
  environmentFile: string;
  command: string;
  args: string[];
}

/** The unit file of a service. */
export function renderUnit(u: UnitSpec): string {
  return [
    '[Unit]',
    `Description=${u.description.replace(/[\n\r%]/g, ' ')}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${u.user}`,
    `WorkingDirectory=${systemdWord(u.cwd)}`,
    `EnvironmentFile=${systemdWord(u.environmentFile)}`,
    `ExecStart=${[u.command, ...u.args].map(systemdWord).join(' ')}`,
    `StandardOutput=append:${u.logFile}`,
    `StandardError=append:${u.logFile}`,
    'KillMode=control-group',
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The machine answers whether it runs systemd and lets us use it (sudo without a password). */
export const SYSTEMD_PROBE =
  '[ -d /run/systemd/system ] && command -v systemctl >/dev/null && sudo -n true 2>/dev/null && echo systemd || echo plain';

export class SystemdServices {
  /**
   * `stateDir` is a shell word evaluated on the machine (as for SshServices); `unitPrefix` makes
   * unit names unique per machine root; `user` is the SSH user the services run as.
   */
  constructor(
    private readonly conn: SshConnection,
    private readonly stateDir: string,
    private readonly unitPrefix: string,
    private readonly user: string,
  ) {}

  private unit(name: string): string {
    if (!SERVICE_NAME.test(name)) throw new ServiceStartError(name, 'a service name is lowercase letters, digits and dashes');
    return `${this.unitPrefix}-${name}.service`;
  }

  private async run(name: string, body: string, timeoutMs: number): Promise<string[]> {
    const prelude = `d=${this.stateDir}; u=${shQuote(this.unit(name))}
prop() { systemctl show -p "$1" --value "$u" 2>/dev/null; }
up() { case "$(prop ActiveState)" in active | activating | reloading) return 0 ;; *) return 1 ;; esac; }
`;
    const result = await runRemote(this.conn, prelude + body, { label: `service ${name}`, timeoutMs });
    const last = result.stdout.trim().split('\n').pop() ?? '';
    if (result.code !== 0 || last === '')
      throw new Error(`service ${name}: the script on the machine failed (${result.code}): ${result.stderr.trim()}`);
    return last.split(' ');
  }

  async status(name: string): Promise<ServiceStatus> {
    const [state, pid] = await this.run(name, 'if up; then echo "running $(prop MainPID)"; else echo none; fi', 15_000);
    return state === 'running' && Number(pid) > 0 ? { running: true, pid: Number(pid) } : { running: false };
  }

  /** `spec.cwd` and `spec.logFile` are absolute here (SshHost resolved them inside the machine). */
  async start(spec: ServiceSpec): Promise<{ pid: number }> {
    if (!spec.command.startsWith('/')) throw new ServiceStartError(spec.name, `the program must be an absolute path, not ${spec.command}`);
    const envLines = Object.entries(spec.env).map(([k, v]) => environmentFileLine(k, v));
    const unitFile = (envFile: string) =>
      renderUnit({
        description: `agent-fleet ${spec.name} in ${spec.cwd}`,
        user: this.user,
        cwd: spec.cwd,
        logFile: spec.logFile,
        environmentFile: envFile,
        command: spec.command,
        args: spec.args,
      });
    // The unit names its EnvironmentFile by absolute path; "$d" is only known on the machine, so the
    // unit is written there with a placeholder replaced by it.
    const placeholder = '@ENVIRONMENT_FILE@';
    const body = `(umask 077; mkdir -p "$d") && chmod 700 "$d" || { echo "error cannot create the service state directory"; exit 0; }
if up; then echo "running $(prop MainPID)"; exit 0; fi
[ -f ${shQuote(spec.command)} ] && [ -x ${shQuote(spec.command)} ] || { echo "error the program is not an executable file"; exit 0; }
mkdir -p -- ${shQuote(spec.cwd)} "$(dirname -- ${shQuote(spec.logFile)})" || { echo "error cannot create its directories"; exit 0; }
(umask 077; printf '%s\\n' ${envLines.map(shQuote).join(' ')} > "$d/${spec.name}.env") || { echo "error cannot write its environment file"; exit 0; }
printf '%s' ${shQuote(unitFile(placeholder))} | sed "s|${placeholder}|$d/${spec.name}.env|" > "$d/$u" || { echo "error cannot write its unit"; exit 0; }
sudo -n install -m 0644 "$d/$u" "/etc/systemd/system/$u" && sudo -n systemctl daemon-reload && sudo -n systemctl enable --now "$u" >/dev/null 2>&1 ||
  { echo "error systemctl could not start the unit $u (passwordless sudo is needed)"; exit 0; }
n=50; while [ "$n" -gt 0 ] && [ "$(prop MainPID)" = 0 ]; do sleep 0.1; n=$((n - 1)); done
pid=$(prop MainPID); [ "$pid" != 0 ] || { echo "error it exited at once (see its log)"; exit 0; }
echo "started $pid"`;
    const [state, ...rest] = await this.run(spec.name, body, 60_000);
    if (state === 'started') return { pid: Number(rest[0]) };
    if (state === 'running') throw new ServiceStartError(spec.name, `it is already running (pid ${rest[0]}); stop it first`);
    throw new ServiceStartError(spec.name, rest.join(' '));
  }

  /** Stops and disables the unit (stopped means stopped: it does not come back at boot). */
  async stop(name: string, graceMs = 15_000): Promise<StopResult> {
    const body = `if ! up; then sudo -n systemctl disable "$u" >/dev/null 2>&1; echo none; exit 0; fi
pid=$(prop MainPID)
sudo -n systemctl disable "$u" >/dev/null 2>&1
sudo -n systemctl kill --signal=TERM "$u"
n=${Math.max(1, Math.ceil(graceMs / 100))}; while [ "$n" -gt 0 ] && [ "$(prop MainPID)" != 0 ]; do sleep 0.1; n=$((n - 1)); done
killed=false
if [ "$(prop MainPID)" != 0 ]; then killed=true; sudo -n systemctl kill --signal=KILL "$u"; fi
sudo -n systemctl stop "$u" || { echo "stuck $pid"; exit 0; }
echo "stopped $pid $killed"`;
    const [state, pid, killed] = await this.run(name, body, graceMs + 30_000);
    if (state === 'none') return { stopped: false };
    if (state === 'stuck') throw new Error(`service ${name} (pid ${pid}) could not be stopped by systemd`);
    return { stopped: true, pid: Number(pid), killed: killed === 'true' };
  }
}
