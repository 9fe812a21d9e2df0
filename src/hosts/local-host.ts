import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecOptions, ExecResult, Host } from './host.ts';

/**
 * The local driver's host: every path is confined to one root directory. Relative paths only;
 * `..`, absolute paths and symlinks that lead outside the root are refused.
 */
export class LocalHost implements Host {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  resolve(rel: string): string {
    if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) throw new Error(`path escapes the machine root: ${rel}`);
    const full = path.resolve(this.root, rel);
    if (full !== this.root && !full.startsWith(this.root + path.sep)) throw new Error(`path escapes the machine root: ${rel}`);
    return full;
  }

  /** Like resolve, and also refuses a path whose existing part goes through a symlink out of the root. */
  private async resolveReal(rel: string): Promise<string> {
    const full = this.resolve(rel);
    let probe = full;
    for (;;) {
      try {
        const real = await fs.realpath(probe);
        const realRoot = await fs.realpath(this.root);
        if (real !== realRoot && !real.startsWith(realRoot + path.sep)) throw new Error(`path escapes the machine root through a symlink: ${rel}`);
        return full;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        const parent = path.dirname(probe);
        if (parent === probe) return full;
        probe = parent;
      }
    }
  }

  async mkdirp(rel: string): Promise<void> {
    await fs.mkdir(await this.resolveReal(rel), { recursive: true });
  }

  async writeFileAtomic(rel: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const full = await this.resolveReal(rel);
    await fs.mkdir(path.dirname(full), { recursive: true });
    const tmp = `${full}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await fs.open(tmp, 'w', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, full);
  }

  async readFile(rel: string): Promise<string> {
    return fs.readFile(await this.resolveReal(rel), 'utf8');
  }

  async exists(rel: string): Promise<boolean> {
    try {
      await fs.access(await this.resolveReal(rel));
      return true;
    } catch {
      return false;
    }
  }

  async rename(fromRel: string, toRel: string): Promise<void> {
    await fs.rename(await this.resolveReal(fromRel), await this.resolveReal(toRel));
  }

  async remove(rel: string): Promise<void> {
    await fs.rm(await this.resolveReal(rel), { recursive: true, force: true });
  }

  exec(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    const cwd = opts.cwd === undefined ? this.root : this.resolve(opts.cwd);
    return new Promise((resolve, reject) => {
      // Own process group, so a timeout kills the command and everything it started.
      const child = spawn(cmd, args, { cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let killedFor: string | undefined;
      const kill = (why: string) => {
        killedFor = why;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      const timer = setTimeout(() => kill(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
      const onAbort = () => kill('aborted');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (killedFor) reject(Object.assign(new Error(`${path.basename(cmd)} ${killedFor}`), { timedOut: killedFor !== 'aborted' }));
        else resolve({ stdout, stderr, code });
      });
    });
  }
}
