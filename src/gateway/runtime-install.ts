/**
 * Installs the pinned runtime on a machine, through its Host: the same code for the control
 * plane's own cache (LocalHost rooted at the cache dir) and for a VM (SshHost). Every machine gets
 * the same bytes: npm installs from the lockfiles shipped in ./runtime-lock/, whose integrity hashes npm
 * checks, into a private temp dir beside the final one, then checked and published by one rename.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { ExecAbortedError, ExecTimeoutError, type Host } from '../hosts/host.ts';
import { npmFailure } from './npm.ts';
import { EXPECTED, isCompleteOn, MARKER, runtimeLayout } from './runtime-layout.ts';
import { DISCORD_PLUGIN_PACKAGE, DISCORD_PLUGIN_VERSION, NODE_RUNTIME_PACKAGE, NODE_RUNTIME_VERSION, OPENCLAW_VERSION } from './version.ts';

/** The two npm projects we ship: `bootstrap` only brings the Node that runs npm for `runtime`. */
export type ShippedProject = 'bootstrap' | 'runtime';

const LOCK_DIR = fileURLToPath(new URL('./runtime-lock/', import.meta.url));

/** package.json and package-lock.json of a shipped project, as text. */
export function shippedProject(project: ShippedProject): { packageJson: string; lockfile: string } {
  return {
    packageJson: readFileSync(`${LOCK_DIR}${project}/package.json`, 'utf8'),
    lockfile: readFileSync(`${LOCK_DIR}${project}/package-lock.json`, 'utf8'),
  };
}

/** How npm is run on the machine. */
export interface MachineNpm {
  /** Step 1 (the bootstrap Node): an npm that runs on the machine as it is, e.g. `['npm']`. */
  bootstrap: string[];
  /** Step 2: the path of npm's `npm-cli.js` on the machine, run with the runtime's own Node. */
  cliScript: string;
  /** PATH on the machine (the bootstrap Node is put first). */
  path: string;
  /** Added to the host's minimal environment: HOME (npm's cache) and npm settings from an allow-list. */
  env: Record<string, string>;
}

export interface InstallOptions {
  /** The runtime's final directory, relative to the host's root. */
  dirRel: string;
  npm: MachineNpm;
  timeoutMs: number;
  log: (message: string) => void;
  signal?: AbortSignal;
}

/** Prefix of the temp dirs of installs into `dirRel` (so leftovers can be found). */
export const tempPrefix = (dirRel: string): string => `.${basename(dirRel)}.tmp-`;

export async function installRuntimeOn(host: Host, options: InstallOptions): Promise<void> {
  const started = Date.now();
  const parent = dirnameRel(options.dirRel);
  const tmp = joinRel(parent, `${tempPrefix(options.dirRel)}${process.pid}-${randomBytes(4).toString('hex')}`);
  // `npm install` over the shipped lockfile, not `npm ci`: npm 11's ci refuses openclaw's tree as
  // "not in sync" (@openclaw/discord bundles a uuid outside its own bundled SDK's range), while
  // install takes the locked versions as they are and checks each tarball's integrity hash.
  // lockfileUnchanged() then proves npm installed exactly the locked tree.
  const install = ['install', '--no-audit', '--no-fund', '--no-update-notifier'];
  try {
    // Step 1: the Node that npm will run on in step 2. npm silently drops optional dependencies
    // whose `engines` the running Node does not meet (openclaw's native fs-safe package wants
    // Node >= 22) and lifecycle scripts run with the first `node` on PATH, so step 2 must run on
    // the runtime's Node; this package has no install scripts, so any npm can install it.
    const bootstrap = joinRel(tmp, '.bootstrap-node');
    await writeProject(host, bootstrap, 'bootstrap');
    options.log(`installing ${NODE_RUNTIME_PACKAGE}@${NODE_RUNTIME_VERSION} into ${tmp}`);
    const [npm, ...npmArgs] = options.npm.bootstrap;
    await runNpm(host, npm!, [...npmArgs, ...install], bootstrap, options.npm.path, `install ${NODE_RUNTIME_PACKAGE}`, options);
    await lockfileUnchanged(host, bootstrap, 'bootstrap');
    const bootstrapBin = host.resolve(`${bootstrap}/node_modules/${NODE_RUNTIME_PACKAGE}/bin`);

    // Step 2: everything, with npm on that Node and that Node first on PATH.
    await writeProject(host, tmp, 'runtime');
    options.log(`installing openclaw@${OPENCLAW_VERSION} and ${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION} (about 900 MB)`);
    await runNpm(
      host,
      `${bootstrapBin}/node`,
      [options.npm.cliScript, ...install],
      tmp,
      `${bootstrapBin}:${options.npm.path}`,
      `install openclaw@${OPENCLAW_VERSION}`,
      options,
    );
    await lockfileUnchanged(host, tmp, 'runtime');
    await host.remove(bootstrap);
    await verify(host, tmp);

    const durationMs = Date.now() - started;
    await host.writeFileAtomic(
      joinRel(tmp, MARKER),
      `${JSON.stringify({ ...EXPECTED, installedAt: new Date().toISOString(), durationMs })}\n`,
      0o644,
    );
    await publish(host, tmp, options.dirRel);
    options.log(`OpenClaw runtime ready in ${options.dirRel} (${Math.round(durationMs / 1000)} s)`);
  } catch (error) {
    await host.remove(tmp).catch(() => undefined);
    throw error;
  }
}

async function writeProject(host: Host, dirRel: string, project: ShippedProject): Promise<void> {
  const files = shippedProject(project);
  await host.mkdirp(dirRel);
  await host.writeFileAtomic(`${dirRel}/package.json`, files.packageJson, 0o644);
  await host.writeFileAtomic(`${dirRel}/package-lock.json`, files.lockfile, 0o644);
}

async function runNpm(
  host: Host,
  command: string,
  args: string[],
  cwdRel: string,
  path: string,
  purpose: string,
  options: InstallOptions,
): Promise<void> {
  const env = {
    ...options.npm.env,
    PATH: path,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  try {
    const result = await host.exec(command, args, { cwd: cwdRel, env, timeoutMs: options.timeoutMs, signal: options.signal });
    if (result.code !== 0) throw npmFailure(result, purpose);
  } catch (error) {
    if (error instanceof ExecTimeoutError) {
      throw new TransientError(
        `npm did not finish within ${Math.round(options.timeoutMs / 1000)} s while trying to ${purpose}; it may be a slow network.`,
      );
    }
    if (error instanceof ExecAbortedError || error instanceof TransientError || error instanceof TerminalError) throw error;
    throw new TerminalError(`Could not run npm to ${purpose}: ${(error as Error).message}.`, { cause: error });
  }
}

/** npm rewrites the lockfile when what it installed differs from it: then this is not our tree. */
async function lockfileUnchanged(host: Host, dirRel: string, project: ShippedProject): Promise<void> {
  type Packages = Record<string, unknown>;
  const packagesOf = (text: string) => ((JSON.parse(text) as { packages?: Packages }).packages ?? {}) as Packages;
  const installed = packagesOf(await host.readFile(`${dirRel}/package-lock.json`));
  const shipped = packagesOf(shippedProject(project).lockfile);
  const differing = [...new Set([...Object.keys(installed), ...Object.keys(shipped)])].filter(
    (path) => JSON.stringify(installed[path]) !== JSON.stringify(shipped[path]),
  );
  if (differing.length > 0) {
    throw new TerminalError(
      `npm installed a different package tree than the shipped lockfile (src/gateway/runtime-lock/${project}) pins, in ${dirRel}: ` +
        `${differing.slice(0, 5).join(', ')}${differing.length > 5 ? ` and ${differing.length - 5} more` : ''} differ. ` +
        "Check npm's configuration on the machine (overrides, a registry serving other versions) and retry.",
    );
  }
}

/** Checks that the tree is what we pinned and that openclaw finished its own lifecycle. */
async function verify(host: Host, tmp: string): Promise<void> {
  const layout = runtimeLayout(tmp);
  const problems: string[] = [];
  const versionOf = async (pkgDir: string) => (JSON.parse(await host.readFile(`${pkgDir}/package.json`)) as { version?: string }).version;
  try {
    if ((await versionOf(layout.openclawDir)) !== OPENCLAW_VERSION) problems.push('openclaw version differs');
    if ((await versionOf(layout.nodeDir)) !== NODE_RUNTIME_VERSION) problems.push('node version differs');
    if ((await versionOf(layout.discordPluginDir)) !== DISCORD_PLUGIN_VERSION) problems.push('discord plugin version differs');
  } catch (error) {
    problems.push(`a package is missing (${(error as Error).message})`);
  }
  if (await host.exists(`${layout.openclawDir}/.openclaw-lifecycle-pending`)) {
    problems.push("openclaw's install scripts did not run (.openclaw-lifecycle-pending is still there)");
  }
  if (problems.length > 0) {
    throw new TerminalError(
      `The OpenClaw runtime install in ${tmp} is incomplete: ${problems.join('; ')}. Retry; if it fails again, check npm's configuration (allowScripts, ignore-scripts).`,
    );
  }
}

/** Publishes the finished temp dir under its final name, replacing an outdated one if present. */
async function publish(host: Host, tmp: string, dirRel: string): Promise<void> {
  if (await host.exists(dirRel)) {
    if (await isCompleteOn(host, dirRel)) {
      // Someone else published a complete runtime meanwhile (possible only if the lock was lost).
      await host.remove(tmp);
      return;
    }
    const old = joinRel(dirnameRel(dirRel), `.${basename(dirRel)}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    await host.rename(dirRel, old);
    await host.rename(tmp, dirRel);
    await host.remove(old);
    return;
  }
  await host.rename(tmp, dirRel);
}

// Host paths are relative and use '/', on every machine.
const basename = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1);
const dirnameRel = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
const joinRel = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);
