import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The one atomic file replacement: a temp file in the same directory (so the rename is atomic, on
 * one filesystem; dot-named so nothing scanning the directory mistakes it for a real file),
 * fsync, rename over the target, fsync the directory. A reader (the gateway's config watcher, a
 * retried step) sees the old file or the new one, never half of one; a crash leaves at most a
 * stray temp file. Parent directories are created.
 *
 * The mode defaults to 0600: most of what we write (openclaw.json, pidfiles of a fleet) is for the
 * fleet's own user only; a caller that wants a file others may read says so. With `owner`, the
 * file belongs to that user (the fleet's OS user on the local driver) before it takes its name.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  mode = 0o600,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx' + mode at creation: a file meant to be 0600 is never readable by others, not even briefly.
    const handle = await fs.open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.chmod(mode); // open's mode is filtered by the umask; the caller asked for exactly `mode`.
      // The fleet's own user owns its files from the first byte on: never a window with another owner.
      if (owner) await handle.chown(owner.uid, owner.gid);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on filesystems without directory fsync: the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
