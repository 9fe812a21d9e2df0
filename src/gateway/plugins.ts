/**
 * The Discord plugin inside one gateway's state dir.
 *
 * Why not just load the copy in the runtime (`plugins.load.paths`)? OpenClaw 2026.9.6 treats a
 * path-loaded plugin as untrusted, and the Discord plugin needs a trusted-only API at register time
 * ("PluginTrustRefusalError: openKeyedStore is only available for trusted plugins … reason=
 * record-missing"): the channel never starts, while /readyz still says ready. The supported way is
 * `openclaw plugins install npm:@openclaw/discord@<pin>`, which installs into
 * `<stateDir>/npm/projects/…` and records the install (and its official trust) in the state
 * database. It runs npm against the registry; the runtime install already put the plugin's tarball
 * in npm's cache, and `prefer-offline` makes npm use it.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { writeFileAtomic } from '../hosts/atomic-write.ts';
import { runOpenclaw, tail } from './cli.ts';
import type { OpenclawRuntime } from './runtime.ts';
import { DISCORD_PLUGIN_PACKAGE, DISCORD_PLUGIN_VERSION } from './version.ts';

export interface EnsurePluginOptions {
  runtime: OpenclawRuntime;
  stateDir: string;
  log?: (message: string) => void;
  timeoutMs?: number;
}

/** The version of the Discord plugin installed in `stateDir`, or undefined. */
export async function installedDiscordPluginVersion(stateDir: string): Promise<string | undefined> {
  const projects = join(stateDir, 'npm', 'projects');
  if (!existsSync(projects)) return undefined;
  for (const project of await readdir(projects)) {
    if (project.startsWith('.')) continue; // an install stage, not an installed project
    const manifest = join(projects, project, 'node_modules', ...DISCORD_PLUGIN_PACKAGE.split('/'), 'package.json');
    try {
      return (JSON.parse(await readFile(manifest, 'utf8')) as { version?: string }).version;
    } catch {
      // another plugin's project
    }
  }
  return undefined;
}

/**
 * Installs the pinned Discord plugin into the gateway's state dir unless it is already there.
 * Idempotent; takes about a minute the first time (a 68 MB package is unpacked twice).
 */
export async function ensureDiscordPlugin(options: EnsurePluginOptions): Promise<{ installed: boolean }> {
  const { runtime, stateDir } = options;
  if (runtime.kind === 'standin') return { installed: false };
  const current = await installedDiscordPluginVersion(stateDir);
  if (current === DISCORD_PLUGIN_VERSION) return { installed: false };

  // Run the install against a config without Discord settings: with `channels.discord` present,
  // any CLI command first runs OpenClaw's "configured plugin is missing" repair, which installs
  // the plugin's *latest* release instead of our pin. The install record lives in the state dir,
  // not in the config, so the real config needs nothing from this run.
  const scratchConfig = join(stateDir, 'plugin-install.openclaw.json');
  await writeFileAtomic(
    scratchConfig,
    JSON.stringify({
      gateway: { mode: 'local' },
      update: { checkOnStart: false },
      models: { catalogRefresh: { enabled: false } },
      logging: { file: join(stateDir, 'logs', 'plugin-install.log') }, // not the host-wide /tmp/openclaw
    }),
  );
  const args = ['plugins', 'install', `npm:${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION}`];
  // --force replaces another installed version (the flag also acknowledges the source, which is
  // the official package pinned by version).
  if (current !== undefined) args.push('--force');
  options.log?.(`installing ${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION} into ${stateDir}`);
  const result = await runOpenclaw(runtime, args, {
    configPath: scratchConfig,
    stateDir,
    timeoutMs: options.timeoutMs ?? 10 * 60_000,
    extra: { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  const after = await installedDiscordPluginVersion(stateDir);
  if (after === DISCORD_PLUGIN_VERSION) return { installed: true };
  const output = tail(`${result.stdout}\n${result.stderr}`, 25);
  if (/ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ECONNREFUSED|E50\d|network/i.test(output)) {
    throw new TransientError(`Installing the Discord plugin failed on a network error; it will be retried. openclaw said:\n${output}`);
  }
  throw new TerminalError(
    `Installing the Discord plugin (${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION}) into ${stateDir} failed ` +
      `(exit code ${result.code}). Check the output below, fix the cause and retry:\n${output}`,
  );
}
