/**
 * Installs the runtime: npm into a private temp dir beside the final one, checks, then one atomic
 * rename. Called by runtime.ts while it holds the install lock.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TerminalError } from '../domain/step-errors.ts';
import { findNpmCli, runNpm } from './npm.ts';
import { isRunning, processesWorkingUnder } from '../hosts/proc.ts';
import { EXPECTED, isComplete, MARKER, runtimeAt, runtimeDirName } from './runtime-layout.ts';
import { DISCORD_PLUGIN_PACKAGE, DISCORD_PLUGIN_VERSION, NODE_RUNTIME_PACKAGE, NODE_RUNTIME_VERSION, OPENCLAW_VERSION } from './version.ts';

/**
 * Leftovers of crashed installers: `.<runtime>.tmp-<pid>-<random>` of dead pids, `.<runtime>.old-…`
 * from an interrupted replacement, `.<runtime>.trash-…` that could not be deleted. Called while
 * holding the lock. Never fails: a leftover costs disk, not correctness.
 */
export async function removeAbandonedTempDirs(cacheDir: string): Promise<void> {
  const base = `.${runtimeDirName()}.`;
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    if (!name.startsWith(base)) continue;
    const kind = name.slice(base.length);
    const abandoned = kind.startsWith('tmp-')
      ? !isRunning(Number(kind.slice(4).split('-')[0]))
      : kind.startsWith('old-') || kind.startsWith('trash-');
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

export async function installRuntime(dir: string, timeoutMs: number, log: (message: string) => void): Promise<void> {
  const started = Date.now();
  const cacheDir = dirname(dir);
  const tmp = join(cacheDir, `.${runtimeDirName()}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const npmCli = findNpmCli();
  try {
    // Step 1: the Node that npm will run on in step 2 (this package has no install scripts, so the
    // control plane's Node can install it).
    const bootstrap = join(tmp, '.bootstrap-node');
    await mkdir(bootstrap, { recursive: true });
    await writeJson(join(bootstrap, 'package.json'), {
      name: 'fleet-bootstrap-node',
      private: true,
      dependencies: { [NODE_RUNTIME_PACKAGE]: NODE_RUNTIME_VERSION },
    });
    log(`installing ${NODE_RUNTIME_PACKAGE}@${NODE_RUNTIME_VERSION} into ${tmp}`);
    const npmArgs = ['install', '--no-audit', '--no-fund', '--no-update-notifier'];
    await runNpm({
      nodeBin: process.execPath,
      npmCli,
      cwd: bootstrap,
      args: npmArgs,
      timeoutMs,
      purpose: `install ${NODE_RUNTIME_PACKAGE}`,
    });
    const bootstrapNode = join(bootstrap, 'node_modules', NODE_RUNTIME_PACKAGE, 'bin', 'node');

    // Step 2: everything, with npm running on Node 26 and that Node first on PATH.
    await writeJson(join(tmp, 'package.json'), runtimePackageJson());
    log(`installing openclaw@${OPENCLAW_VERSION} and ${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION} (about 900 MB)`);
    await runNpm({
      nodeBin: bootstrapNode,
      npmCli,
      cwd: tmp,
      args: npmArgs,
      pathPrepend: [dirname(bootstrapNode)],
      timeoutMs,
      purpose: `install openclaw@${OPENCLAW_VERSION}`,
    });
    await rm(bootstrap, { recursive: true, force: true });
    await verify(tmp);

    const durationMs = Date.now() - started;
    await writeJson(join(tmp, MARKER), { ...EXPECTED, installedAt: new Date().toISOString(), durationMs });
    await publish(tmp, dir);
    log(`OpenClaw runtime ready in ${dir} (${Math.round(durationMs / 1000)} s)`);
  } catch (error) {
    await discard(tmp);
    throw error;
  }
}

/**
 * The runtime's package.json. `allowScripts` is explicit for every dependency with an install
 * script, so the result does not depend on npm's default policy (which differs between npm
 * releases): openclaw's own preinstall (Node version check) and postinstall (prunes stale dist
 * files, completes its `.openclaw-lifecycle-pending` marker) must run; koffi's native build step is
 * not needed (the prebuilt `@koromix/koffi-linux-x64` optional package is used), protobufjs only
 * prints a version-scheme warning and @google/genai's preinstall is a no-op.
 */
export function runtimePackageJson(): Record<string, unknown> {
  return {
    name: 'agent-fleet-openclaw-runtime',
    private: true,
    description: 'Installed by agent-fleet (src/gateway/runtime.ts). Do not edit: delete the directory to reinstall.',
    dependencies: {
      openclaw: OPENCLAW_VERSION,
      [NODE_RUNTIME_PACKAGE]: NODE_RUNTIME_VERSION,
      [DISCORD_PLUGIN_PACKAGE]: DISCORD_PLUGIN_VERSION,
    },
    allowScripts: {
      [`openclaw@${OPENCLAW_VERSION}`]: true,
      koffi: false,
      protobufjs: false,
      '@google/genai': false,
    },
  };
}

/** Checks that the tree is what we pinned and that openclaw finished its own lifecycle. */
async function verify(tmp: string): Promise<void> {
  const runtime = runtimeAt(tmp);
  const problems: string[] = [];
  const versionOf = async (pkgDir: string) =>
    (JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version?: string }).version;
  try {
    if ((await versionOf(dirname(runtime.openclawEntry))) !== OPENCLAW_VERSION) problems.push('openclaw version differs');
    if ((await versionOf(dirname(dirname(runtime.nodeBin)))) !== NODE_RUNTIME_VERSION) problems.push('node version differs');
    if ((await versionOf(runtime.discordPluginDir!)) !== DISCORD_PLUGIN_VERSION) problems.push('discord plugin version differs');
  } catch (error) {
    problems.push(`a package is missing (${(error as Error).message})`);
  }
  if (existsSync(join(dirname(runtime.openclawEntry), '.openclaw-lifecycle-pending'))) {
    problems.push("openclaw's install scripts did not run (.openclaw-lifecycle-pending is still there)");
  }
  if (problems.length > 0) {
    throw new TerminalError(
      `The OpenClaw runtime install in ${tmp} is incomplete: ${problems.join('; ')}. Retry; if it fails again, check npm's configuration (allowScripts, ignore-scripts).`,
    );
  }
}

/** Publishes the finished temp dir under its final name, replacing an outdated one if present. */
async function publish(tmp: string, dir: string): Promise<void> {
  try {
    await rename(tmp, dir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
  if (await isComplete(dir)) {
    // Someone else published a complete runtime meanwhile (possible only if the lock was lost).
    await rm(tmp, { recursive: true, force: true });
    return;
  }
  const old = join(dirname(dir), `.${runtimeDirName()}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
  await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
