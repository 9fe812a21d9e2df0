/**
 * A cross-process lock file: created with O_EXCL and holding the owner's pid, host and process
 * start time. It only saves work (two workers installing the same 900 MB runtime at once); the
 * install itself stays correct without it because it builds in a private temp dir and publishes
 * with one atomic rename.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, processStartTime } from '../hosts/proc.ts';

interface LockOwner {
  pid: number;
  host: string;
  startTime?: number;
  acquiredAt: string;
  /** Tells two acquisitions by the same process apart. */
  nonce: string;
}

export interface LockHandle {
  path: string;
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Give up waiting for a live owner after this long. */
  timeoutMs: number;
  pollMs?: number;
  /** Checked while waiting: when it turns true the caller no longer needs the lock. */
  done?: () => Promise<boolean>;
  onWait?: (owner: string) => void;
}

/**
 * Takes the lock at `path`, waiting while another live process holds it and breaking it when its
 * owner is gone. Returns undefined when `done()` became true while waiting. Throws on timeout.
 */
export async function acquireLock(path: string, options: AcquireOptions): Promise<LockHandle | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startTime: processStartTime(process.pid),
    acquiredAt: new Date().toISOString(),
    nonce: randomBytes(8).toString('hex'),
  };
  let announced = false;
  for (;;) {
    if (options.done && (await options.done())) return undefined;
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      return { path, release: () => releaseIfOurs(path, me) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readOwner(path);
    if (await isStale(path, holder)) {
      await breakLock(path);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`lock ${path} is still held by ${describe(holder)} after ${options.timeoutMs} ms`);
    }
    if (!announced) {
      options.onWait?.(describe(holder));
      announced = true;
    }
    await sleep(options.pollMs ?? 1000);
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return parsed as LockOwner;
  } catch {
    return undefined;
  }
}

async function isStale(path: string, owner: LockOwner | undefined): Promise<boolean> {
  if (owner === undefined) {
    // Unreadable content: either a writer between open() and write() (a few ms) or a crash in
    // that window. Only the second one lasts.
    try {
      const info = await stat(path);
      return Date.now() - info.mtimeMs > 10_000;
    } catch {
      return false; // gone already: the next loop iteration retries the create
    }
  }
  // A lock from another host (shared cache dir) cannot be checked; wait for it or time out.
  if (owner.host !== hostname()) return false;
  if (!isRunning(owner.pid)) return true;
  const startTime = processStartTime(owner.pid);
  return owner.startTime !== undefined && startTime !== undefined && startTime !== owner.startTime;
}

/**
 * Removes a stale lock without deleting a fresh one another process may have created after we
 * looked: the lock is renamed to a private name first (atomic, only one breaker wins), and if what
 * we moved turns out to be a live owner's lock it is linked back (link fails if a newer lock
 * already exists, which is then the valid one).
 */
async function breakLock(path: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await readOwner(aside);
  if (moved !== undefined && !(await isStale(aside, moved))) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

async function releaseIfOurs(path: string, me: LockOwner): Promise<void> {
  const owner = await readOwner(path);
  if (owner?.pid === me.pid && owner.host === me.host && owner.nonce === me.nonce) {
    await unlink(path).catch(() => undefined);
  }
}

function describe(owner: LockOwner | undefined): string {
  return owner ? `pid ${owner.pid} on ${owner.host} since ${owner.acquiredAt}` : 'an unknown process';
}
