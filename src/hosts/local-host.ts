import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
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
import { runProcess } from './local-exec.ts';
import { LocalServices } from './local-services.ts';
import type { OsUser } from './os-users.ts';

/**
 * The local driver's host: a directory on this machine stands for the machine. Every path is
 * confined to that root: absolute paths, `..` and symlinks that lead outside are refused.
 * (Confinement guards against mistakes and hostile names in our input, not against another
 * process racing to swap directories for symlinks under our feet.)
 */
export class LocalHost implements Host {
  readonly root: string;
  /** The fleet's OS user: owns what is written, runs what is run. Absent: the control plane's own user. */
  readonly owner: OsUser | undefined;
  private readonly services: LocalServices;

  constructor(root: string, opts: { owner?: OsUser } = {}) {
    this.root = path.resolve(root);
    this.owner = opts.owner;
    // Service records live beside the machine (…/.services/<machine>/), out of its processes' reach.
    this.services = new LocalServices(path.join(path.dirname(this.root), '.services', path.basename(this.root)), this.owner);
  }

  resolve(rel: string): string {
    if (rel.includes('\0')) throw new PathEscapeError(rel.replace(/\0/g, '\\0'), 'it contains a NUL byte');
    if (path.isAbsolute(rel) || /^[A-Za-z]:|^[\\/]/.test(rel)) throw new PathEscapeError(rel, 'it is absolute');
    if (rel.split(/[\\/]/).includes('..')) throw new PathEscapeError(rel, "it contains '..'");
    const full = path.resolve(this.root, rel);
    if (!this.inside(this.root, full)) throw new PathEscapeError(rel, 'it leaves the machine root');
    return full;
  }

  /**
   * Like resolve, and also follows the part of the path that exists: a symlink anywhere on it that
   * leads out of the root (or nowhere) is refused.
   */
  private async resolveReal(rel: string): Promise<string> {
    const full = this.resolve(rel);
    let probe = full;
    // The deepest existing part. lstat, so a dangling symlink counts as existing and is caught below.
    for (;;) {
      try {
        await fs.lstat(probe);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
        // Reached the root and it does not exist yet: nothing inside it can be a symlink.
        if (probe === this.root) return full;
        probe = path.dirname(probe);
      }
    }
    let real: string;
    try {
      real = await fs.realpath(probe);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') throw new PathEscapeError(rel, 'it goes through a symlink that leads nowhere');
      throw e;
    }
    if (!this.inside(await this.realRoot(), real))
      throw new PathEscapeError(rel, 'it goes through a symlink that leads outside the machine root');
    return full;
  }

  private async realRoot(): Promise<string> {
    // Not cached: the root may be created (or, on a test box, be a symlink itself) after construction.
    return fs.realpath(this.root).catch(() => this.root);
  }

  private inside(root: string, p: string): boolean {
    return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  }

  async mkdirp(rel: string): Promise<void> {
    const full = await this.resolveReal(rel);
    const first = await fs.mkdir(full, { recursive: true });
    if (this.owner && first !== undefined) {
      // Every directory mkdir made, from the first one down to `full`, becomes the fleet user's.
      for (let dir = full; ; dir = path.dirname(dir)) {
        await fs.lchown(dir, this.owner.uid, this.owner.gid);
        if (dir === first || dir === this.root) break;
      }
    }
  }

  async writeFileAtomic(rel: string, data: string | Buffer, mode?: number): Promise<void> {
    const full = await this.resolveReal(rel);
    if (this.owner) await this.mkdirp(path.relative(this.root, path.dirname(full)));
    await writeFileAtomic(full, data, mode, this.owner);
  }

  async readFile(rel: string): Promise<string> {
    return fs.readFile(await this.resolveReal(rel), 'utf8');
  }

  async exists(rel: string): Promise<boolean> {
    const full = await this.resolveReal(rel);
    try {
      await fs.access(full);
      return true;
    } catch {
      return false;
    }
  }

  async list(rel: string): Promise<string[]> {
    try {
      return (await fs.readdir(await this.resolveReal(rel))).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async rename(fromRel: string, toRel: string): Promise<void> {
    await fs.rename(await this.resolveReal(fromRel), await this.resolveReal(toRel));
  }

  async remove(rel: string): Promise<void> {
    const full = await this.resolveReal(rel);
    if (full === this.root) throw new PathEscapeError(rel, 'it is the machine root itself, which remove() never deletes');
    await fs.rm(full, { recursive: true, force: true });
  }

  async exec(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    const cwd = opts.cwd === undefined ? this.root : await this.resolveReal(opts.cwd);
    // As the fleet's user, HOME is the machine root unless the caller names one: the control
    // plane's own HOME is not the fleet's to read or write.
    const env = this.owner ? { HOME: this.root, USER: this.owner.name, LOGNAME: this.owner.name, ...opts.env } : opts.env;
    return runProcess(cmd, args, { cwd, env, timeoutMs: opts.timeoutMs, signal: opts.signal, user: this.owner });
  }

  isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect({ port, host });
      const done = (open: boolean) => {
        socket.destroy();
        resolve(open);
      };
      socket.setTimeout(timeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  }

  async startService(spec: ServiceSpec): Promise<{ pid: number }> {
    const [cwd, logFile] = await Promise.all([this.resolveReal(spec.cwd), this.resolveReal(spec.logFile)]);
    if (this.owner) {
      await this.mkdirp(path.relative(this.root, cwd));
      await this.mkdirp(path.relative(this.root, path.dirname(logFile)));
    }
    return this.services.start({ ...spec, cwd, logFile });
  }

  stopService(name: string, opts: { graceMs?: number } = {}): Promise<StopResult> {
    return this.services.stop(name, opts.graceMs);
  }

  serviceStatus(name: string): Promise<ServiceStatus> {
    return this.services.status(name);
  }

  /** Dials 127.0.0.1:`port` of this machine (see machineRequest for the timeout and the 1 MiB cut). */
  request(port: number, urlPath: string, opts: MachineRequestOptions): Promise<HttpAnswer> {
    return machineRequest(port, urlPath, opts);
  }

  async close(): Promise<void> {}
}
