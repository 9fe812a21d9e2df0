/**
 * The OpenClaw runtime: the pinned `openclaw` package, the Node it needs and the Discord plugin,
 * installed once per machine into a cache directory and shared by every gateway on it.
 *
 * Layout: `<cacheDir>/openclaw-<ver>-node-<ver>/` holding package.json, node_modules and the marker
 * `.fleet-runtime.json`. It is built in a temp dir beside it and published by one rename, so a
 * directory with that name is always complete; the marker records what was installed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { LocalHost } from '../hosts/local-host.ts';
import { isRunning, processesWorkingUnder } from '../hosts/proc.ts';
import { acquireLock, type LockHandle } from './install-lock.ts';
import { findNpmCli, npmSettingsFrom } from './npm.ts';
import { installRuntimeOn, tempPrefix } from './runtime-install.ts';
import { EXPECTED, isCompleteOn, runtimeAt, runtimeDirName, type OpenclawRuntime } from './runtime-layout.ts';

export type { OpenclawRuntime } from './runtime-layout.ts';
export { runtimeDirName } from './runtime-layout.ts';

export interface EnsureRuntimeOptions {
  /** Where runtimes are installed (config: FLEET_RUNTIME_CACHE_DIR and its defaults). */
  cacheDir: string;
  /**
   * Test-only (config: FLEET_GATEWAY_COMMAND): a Node script run with the current Node instead of
   * the real gateway, e.g. test/gateway/standin-gateway.mjs; nothing is installed.
   */
  standinCommand?: string;
  log?: (message: string) => void;
  /** Upper bound for one npm run and for waiting on another installer. Default 20 minutes. */
  timeoutMs?: number;
}

/** The runtime's `{command, args}` for `openclaw <args…>`. */
export function openclawCommand(runtime: OpenclawRuntime, args: string[]): { command: string; args: string[] } {
  return { command: runtime.nodeBin, args: [runtime.openclawEntry, ...args] };
}

// Callers in one process share one install instead of queueing on their own lock file.
const inFlight = new Map<string, Promise<OpenclawRuntime>>();

/**
 * Returns the pinned runtime, installing it first if this machine does not have it yet. Safe to
 * call from many processes at once: one installs, the others wait for it.
 */
export async function ensureOpenclawRuntime(options: EnsureRuntimeOptions): Promise<OpenclawRuntime> {
  if (options.standinCommand) return standinRuntime(options.standinCommand);
  const dir = join(options.cacheDir, runtimeDirName());
  let pending = inFlight.get(dir);
  if (pending === undefined) {
    pending = ensureInstalled(dir, options).finally(() => inFlight.delete(dir));
    inFlight.set(dir, pending);
  }
  return pending;
}

function standinRuntime(script: string): OpenclawRuntime {
  const entry = resolve(script);
  if (!existsSync(entry)) {
    throw new TerminalError(`FLEET_GATEWAY_COMMAND points to ${entry}, which does not exist. Unset it to use the real gateway.`);
  }
  return { dir: dirname(entry), nodeBin: process.execPath, openclawEntry: entry, kind: 'standin', versions: EXPECTED };
}

async function ensureInstalled(dir: string, options: EnsureRuntimeOptions): Promise<OpenclawRuntime> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  const cacheDir = dirname(dir);
  // The cache dir is the machine root of the install: every gateway on this host shares it.
  const cache = new LocalHost(cacheDir);
  const isComplete = () => isCompleteOn(cache, runtimeDirName());
  if (await isComplete()) return runtimeAt(dir);

  await mkdir(cacheDir, { recursive: true });
  let lock: LockHandle | undefined;
  try {
    lock = await acquireLock(`${dir}.lock`, {
      timeoutMs,
      done: isComplete,
      onWait: (owner) => log(`waiting for ${owner} to finish installing the OpenClaw runtime`),
    });
  } catch (error) {
    throw new TransientError(`Another process is still installing the OpenClaw runtime into ${dir}; retry later.`, {
      cause: error,
    });
  }
  if (lock === undefined) return runtimeAt(dir); // another process finished while we waited
  try {
    if (await isComplete()) return runtimeAt(dir);
    await removeAbandonedTempDirs(cacheDir);
    const npmCli = findNpmCli();
    await installRuntimeOn(cache, {
      dirRel: runtimeDirName(),
      npm: {
        bootstrap: [process.execPath, npmCli],
        cliScript: npmCli,
        path: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        env: npmSettingsFrom(process.env),
      },
      timeoutMs,
      log,
    });
    return runtimeAt(dir);
  } finally {
    await lock.release();
  }
}

/**
 * Leftovers of crashed installers: `.<runtime>.tmp-<pid>-<random>` of dead pids, `.<runtime>.old-…` from an interrupted replacement, `.<runtime>.trash-…`
 * that could not be deleted. Called while holding the lock. Never fails: a leftover costs disk, not
 * correctness.
 */
async function removeAbandonedTempDirs(cacheDir: string): Promise<void> {
  const base = `.${runtimeDirName()}.`;
  const tmp = tempPrefix(runtimeDirName());
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    if (!name.startsWith(base)) continue;
    const kind = name.slice(base.length);
    const pid = Number(name.slice(tmp.length).split('-')[0]);
    const abandoned = name.startsWith(tmp) ? !isRunning(pid) : kind.startsWith('old-') || kind.startsWith('trash-');
    if (abandoned) await discard(join(cacheDir, name));
  }
}

/**
 * Deletes a directory that another process may still be writing into: the npm of a SIGKILLed
 * installer runs on in its own process group. Stop what works in there, move the directory out
 * of the way (its writers then fail on a vanished path), then delete it best-effort.
 */
async function discard(path: string): Promise<void> {
  for (const pid of processesWorkingUnder(path)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const trash = join(dirname(path), `.${runtimeDirName()}.trash-${process.pid}-${randomBytes(4).toString('hex')}`);
  const target = await rename(path, trash).then(
    () => trash,
    () => path,
  );
  await rm(target, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
}
