import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import {
  type ExecOptions,
  type ExecResult,
  type Host,
  type HttpAnswer,
  PathEscapeError,
  type ServiceSpec,
  type ServiceStatus,
  type StopResult,
} from './host.ts';
import { type MachineRequestOptions, machineRequest } from './http-request.ts';
import { type SshConnectOptions, SshConnection } from './ssh-connection.ts';
import { execScript, runRemote, shQuote } from './ssh-exec.ts';
import { SshFiles, confine } from './ssh-files.ts';
import { SshServices } from './ssh-services.ts';
import { SYSTEMD_PROBE, SystemdServices } from './ssh-systemd.ts';

export { HostKeyMismatchError } from './ssh-connection.ts';

export interface SshHostOptions extends SshConnectOptions {
  /** The machine root: an absolute path on the machine (e.g. /home/fleet/fleets/<slug>). */
  root: string;
  /**
   * Where service records are kept (absolute on the machine). Default
   * `~/.fleet-services/<root's name>-<hash of root>`: outside the root, so nothing written through
   * the host's file operations can reach it.
   */
  serviceStateDir?: string;
}

/** How long `remove` may take: a fleet's repos can be large trees. */
const REMOVE_TIMEOUT_MS = 10 * 60_000;

/**
 * A machine reached over SSH (the GCP driver's VMs): the same contract as LocalHost, through one
 * lazily opened connection whose host key is pinned. Files go over SFTP, commands through
 * exec channels (ssh-exec.ts), HTTP through forwarded channels, so the machine needs no port open
 * but SSH. Services are systemd units where the machine runs systemd and lets the user sudo (a
 * GCE VM: ssh-systemd.ts), else detached processes with pidfile records (ssh-services.ts), chosen by
 * asking the machine once per host.
 */
export class SshHost implements Host {
  readonly root: string;
  private readonly conn: SshConnection;
  private readonly files: SshFiles;
  private readonly plainServices: SshServices;
  private readonly systemdServices: SystemdServices;
  private chosen: Promise<SshServices | SystemdServices> | undefined;

  constructor(opts: SshHostOptions) {
    if (!opts.root.startsWith('/')) throw new Error(`the machine root must be an absolute path, not ${opts.root}`);
    this.root = path.posix.resolve(opts.root);
    this.conn = new SshConnection(opts);
    this.files = new SshFiles(this.conn, this.root);
    const key = `${path.posix.basename(this.root)}-${createHash('sha256').update(this.root).digest('hex').slice(0, 8)}`;
    const stateDir = opts.serviceStateDir === undefined ? `"$HOME"/.fleet-services/${shQuote(key)}` : shQuote(opts.serviceStateDir);
    this.plainServices = new SshServices(this.conn, stateDir);
    this.systemdServices = new SystemdServices(this.conn, stateDir, `agent-fleet-${key}`, opts.username);
  }

  /** The machine's kind of services, asked once (a failed probe is asked again next time). */
  private services(): Promise<SshServices | SystemdServices> {
    this.chosen ??= runRemote(this.conn, SYSTEMD_PROBE, { label: 'systemd probe', timeoutMs: 15_000 }).then(
      (r) => (r.stdout.trim().endsWith('systemd') ? this.systemdServices : this.plainServices),
      (error: unknown) => {
        this.chosen = undefined;
        throw error;
      },
    );
    return this.chosen;
  }

  resolve(rel: string): string {
    return confine(this.root, rel);
  }

  async mkdirp(rel: string): Promise<void> {
    await this.files.mkdirs(await this.files.resolveReal(rel));
  }

  async writeFileAtomic(rel: string, data: string | Buffer, mode?: number): Promise<void> {
    await this.files.writeAtomic(await this.files.resolveReal(rel), data, mode);
  }

  async readFile(rel: string): Promise<string> {
    return this.files.readFile(await this.files.resolveReal(rel));
  }

  async exists(rel: string): Promise<boolean> {
    return this.files.exists(await this.files.resolveReal(rel));
  }

  async list(rel: string): Promise<string[]> {
    return this.files.list(await this.files.resolveReal(rel));
  }

  async rename(fromRel: string, toRel: string): Promise<void> {
    const [from, to] = await Promise.all([this.files.resolveReal(fromRel), this.files.resolveReal(toRel)]);
    await this.files.rename(from, to);
  }

  async remove(rel: string): Promise<void> {
    const full = await this.files.resolveReal(rel);
    if (full === this.root) throw new PathEscapeError(rel, 'it is the machine root itself, which remove() never deletes');
    // One command instead of an SFTP walk of the tree; rm does not follow symlinks inside it.
    const r = await runRemote(this.conn, `rm -rf -- ${shQuote(full)}`, { label: 'rm', timeoutMs: REMOVE_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`could not remove ${full} on the machine: ${r.stderr.trim()}`);
  }

  async exec(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    const cwd = opts.cwd === undefined ? this.root : await this.files.resolveReal(opts.cwd);
    return runRemote(this.conn, execScript(cmd, args, cwd, opts.env), {
      label: path.posix.basename(cmd),
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
    });
  }

  async isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const attempt = this.conn.forward(port, host).then(
      (channel) => {
        channel.close();
        return true;
      },
      () => false,
    );
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async startService(spec: ServiceSpec): Promise<{ pid: number }> {
    const [cwd, logFile] = await Promise.all([this.files.resolveReal(spec.cwd), this.files.resolveReal(spec.logFile)]);
    return (await this.services()).start({ ...spec, cwd, logFile });
  }

  async stopService(name: string, opts: { graceMs?: number } = {}): Promise<StopResult> {
    return (await this.services()).stop(name, opts.graceMs);
  }

  async serviceStatus(name: string): Promise<ServiceStatus> {
    return (await this.services()).status(name);
  }

  request(port: number, urlPath: string, opts: MachineRequestOptions): Promise<HttpAnswer> {
    return machineRequest(port, urlPath, opts, async () => asSocket(await this.conn.forward(port)));
  }

  /** Ends the SSH connection; services keep running. The host may be used again (it reconnects). */
  close(): Promise<void> {
    return this.conn.close();
  }
}

/** node:http drives a socket; a forwarded SSH channel is a plain duplex stream without the socket knobs. */
function asSocket(stream: Duplex): Duplex {
  const noop = () => stream;
  return Object.assign(stream, {
    setKeepAlive: noop,
    setNoDelay: noop,
    setTimeout: noop,
    ref: noop,
    unref: noop,
    destroySoon: () => stream.destroy(),
  });
}
