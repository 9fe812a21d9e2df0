import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';
import { PathEscapeError } from './host.ts';
import type { SshConnection } from './ssh-connection.ts';

/**
 * Files of an SSH machine, over SFTP, confined to the root by the same rules as LocalHost: no
 * absolute paths, no `..`, no NUL, and no symlink on the way that leads out of the root (or
 * nowhere). As locally, this guards against mistakes and hostile names in our input, not against
 * a process on the machine swapping directories for symlinks between our check and our write.
 */
const P = path.posix;
/** SFTP status codes (draft-ietf-secsh-filexfer-02): ENOENT, ENOTDIR and ELOOP all come back as NO_SUCH_FILE. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

/** The pure part of confinement: `rel` inside `root`, or PathEscapeError. */
export function confine(root: string, rel: string): string {
  if (rel.includes('\0')) throw new PathEscapeError(rel.replace(/\0/g, '\\0'), 'it contains a NUL byte');
  if (P.isAbsolute(rel) || /^[A-Za-z]:|^[\\/]/.test(rel)) throw new PathEscapeError(rel, 'it is absolute');
  if (rel.split(/[\\/]/).includes('..')) throw new PathEscapeError(rel, "it contains '..'");
  const full = P.resolve(root, rel);
  if (!inside(root, full)) throw new PathEscapeError(rel, 'it leaves the machine root');
  return full;
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** An SFTP failure with the errno-like code callers of LocalHost know (ENOENT, EACCES). */
function sftpError(op: string, file: string, e: unknown): Error {
  const status = (e as { code?: unknown }).code;
  const code = status === NO_SUCH_FILE ? 'ENOENT' : status === PERMISSION_DENIED ? 'EACCES' : 'EIO';
  return Object.assign(new Error(`${op} ${file} on the machine: ${(e as Error).message}`, { cause: e }), { code, path: file });
}

const isMissing = (e: unknown) => (e as { code?: unknown }).code === NO_SUCH_FILE || (e as { code?: unknown }).code === 'ENOENT';

/** ssh2's answer for requests in flight when the SFTP channel or the connection went away. */
const LOST = /No response from server|Not connected|channel (is )?closed|ECONNRESET/i;

/**
 * One SFTP request as a promise; `sftp` is taken per call so a reconnect is picked up. A request
 * that only reads (`idempotent`) and was lost with the connection is sent once more on a new one:
 * an idle connection that died unnoticed fails the first request sent on it.
 */
async function call<T>(
  conn: SshConnection,
  op: string,
  file: string,
  fn: (sftp: SFTPWrapper, cb: (e: Error | null | undefined, v?: T) => void) => void,
  idempotent = false,
): Promise<T> {
  const once = async () => {
    const sftp = await conn.sftp();
    return new Promise<T>((resolve, reject) => {
      try {
        fn(sftp, (e, v) => (e ? reject(Object.assign(e, { sftp })) : resolve(v as T)));
      } catch (e) {
        reject(e); // ssh2 throws at once, e.g. for an extension the server lacks
      }
    });
  };
  try {
    return await once();
  } catch (e) {
    if (!idempotent || !LOST.test((e as Error).message)) throw sftpError(op, file, e);
    conn.dropSftp((e as { sftp?: SFTPWrapper }).sftp);
    return once().catch((again: unknown) => {
      throw sftpError(op, file, again);
    });
  }
}

export class SshFiles {
  constructor(
    private readonly conn: SshConnection,
    readonly root: string,
  ) {}

  lstat = (file: string) => call<Stats>(this.conn, 'lstat', file, (s, cb) => s.lstat(file, cb), true);
  stat = (file: string) => call<Stats>(this.conn, 'stat', file, (s, cb) => s.stat(file, cb), true);
  private realpath = (file: string) => call<string>(this.conn, 'realpath', file, (s, cb) => s.realpath(file, cb), true);

  /** Like confine, and also follows the part of the path that exists (as LocalHost.resolveReal). */
  async resolveReal(rel: string): Promise<string> {
    const full = confine(this.root, rel);
    let probe = full;
    // The deepest existing part. lstat, so a dangling symlink counts as existing and is caught below.
    for (;;) {
      try {
        await this.lstat(probe);
        break;
      } catch (e) {
        if (!isMissing(e)) throw e;
        if (probe === this.root || probe === '/') return full; // the root does not exist yet: nothing in it can be a symlink
        probe = P.dirname(probe);
      }
    }
    let real: string;
    try {
      // The server's realpath(3): every symlink on the way followed.
      real = await this.realpath(probe);
      await this.lstat(real); // some servers answer for a target that does not exist
    } catch (e) {
      if (isMissing(e)) throw new PathEscapeError(rel, 'it goes through a symlink that leads nowhere');
      throw e;
    }
    const realRoot = await this.realpath(this.root).catch(() => this.root);
    if (!inside(realRoot, real)) throw new PathEscapeError(rel, 'it goes through a symlink that leads outside the machine root');
    return full;
  }

  /** mkdir -p of an absolute path already checked by resolveReal. */
  async mkdirs(dir: string): Promise<void> {
    try {
      await call(this.conn, 'mkdir', dir, (s, cb) => s.mkdir(dir, cb));
      return;
    } catch (e) {
      // Exists (SFTP says only "failure" for EEXIST), or a parent is missing: stat tells which.
      try {
        if ((await this.stat(dir)).isDirectory()) return;
      } catch (statError) {
        if (!isMissing(statError) || dir === '/') throw e;
        await this.mkdirs(P.dirname(dir));
        await call(this.conn, 'mkdir', dir, (s, cb) => s.mkdir(dir, cb)).catch(async (again: unknown) => {
          if (!(await this.stat(dir).catch(() => undefined))?.isDirectory()) throw again; // lost a race to another mkdir: fine
        });
        return;
      }
      throw e;
    }
  }

  /**
   * Temp file in the same directory (dot-named), exactly `mode` from creation on, fsync where the
   * server has fsync@openssh.com, then posix-rename@openssh.com over the target: readers see the
   * old file or the new one. (A directory cannot be fsynced over SFTP: after a power cut the
   * rename may be lost, never half done.)
   */
  async writeAtomic(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
    const dir = P.dirname(file);
    await this.mkdirs(dir);
    const tmp = P.join(dir, `.${P.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    try {
      const handle = await call<Buffer>(this.conn, 'create', tmp, (s, cb) => s.open(tmp, 'wx', { mode }, cb));
      try {
        if (bytes.length > 0) await call(this.conn, 'write', tmp, (s, cb) => s.write(handle, bytes, 0, bytes.length, 0, cb));
        await call(this.conn, 'chmod', tmp, (s, cb) => s.fchmod(handle, mode, cb)); // the server's umask filtered open's mode
        await call(this.conn, 'fsync', tmp, (s, cb) => s.ext_openssh_fsync(handle, cb)).catch(() => undefined);
      } finally {
        await call(this.conn, 'close', tmp, (s, cb) => s.close(handle, cb)).catch(() => undefined);
      }
      await this.rename(tmp, file);
    } catch (e) {
      await call(this.conn, 'unlink', tmp, (s, cb) => s.unlink(tmp, cb)).catch(() => undefined);
      throw e;
    }
  }

  /** rename(2) semantics (an existing target is replaced), which plain SFTP rename does not have. */
  rename(from: string, to: string): Promise<void> {
    return call(this.conn, 'rename', from, (s, cb) => s.ext_openssh_rename(from, to, cb));
  }

  async readFile(file: string): Promise<string> {
    const data = await call<Buffer>(this.conn, 'read', file, (s, cb) => s.readFile(file, cb), true);
    return data.toString('utf8');
  }

  async exists(file: string): Promise<boolean> {
    try {
      await this.stat(file);
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      const entries = await call<Array<{ filename: string }>>(this.conn, 'readdir', dir, (s, cb) => s.readdir(dir, cb), true);
      return entries.map((e) => e.filename).sort();
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }
}
