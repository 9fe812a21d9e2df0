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
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import type { Host } from '../hosts/host.ts';
import { runOpenclaw, tail } from './cli.ts';
import type { OpenclawRuntime } from './runtime.ts';
import { DISCORD_PLUGIN_PACKAGE, DISCORD_PLUGIN_VERSION } from './version.ts';

export interface EnsurePluginOptions {
  runtime: OpenclawRuntime;
  /** The gateway's state dir, relative to the machine root. */
  stateRel: string;
  /** HOME of the install (npm's cache is under it). */
  home: string;
  log?: (message: string) => void;
  timeoutMs?: number;
}

/** The version of the Discord plugin installed in the state dir, or undefined. */
export async function installedDiscordPluginVersion(host: Host, stateRel: string): Promise<string | undefined> {
  const projects = `${stateRel}/npm/projects`;
  for (const project of await host.list(projects)) {
    if (project.startsWith('.')) continue; // an install stage, not an installed project
    const manifest = `${projects}/${project}/node_modules/${DISCORD_PLUGIN_PACKAGE}/package.json`;
    try {
      return (JSON.parse(await host.readFile(manifest)) as { version?: string }).version;
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
export async function ensureDiscordPlugin(host: Host, options: EnsurePluginOptions): Promise<{ installed: boolean }> {
  const { runtime, stateRel } = options;
  if (runtime.kind === 'standin') return { installed: false };
  const current = await installedDiscordPluginVersion(host, stateRel);
  if (current === DISCORD_PLUGIN_VERSION) return { installed: false };

  // Run the install against a config without Discord settings: with `channels.discord` present,
  // any CLI command first runs OpenClaw's "configured plugin is missing" repair, which installs
  // the plugin's *latest* release instead of our pin. The install record lives in the state dir,
  // not in the config, so the real config needs nothing from this run.
  const scratchConfig = `${stateRel}/plugin-install.openclaw.json`;
  await host.writeFileAtomic(
    scratchConfig,
    JSON.stringify({
      gateway: { mode: 'local' },
      update: { checkOnStart: false },
      models: { catalogRefresh: { enabled: false } },
      logging: { file: host.resolve(`${stateRel}/logs/plugin-install.log`) }, // not the host-wide /tmp/openclaw
    }),
  );
  const args = ['plugins', 'install', `npm:${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION}`];
  // --force replaces another installed version (the flag also acknowledges the source, which is
  // the official package pinned by version).
  if (current !== undefined) args.push('--force');
  options.log?.(`installing ${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION} into ${stateRel}`);
  const result = await runOpenclaw(host, runtime, args, {
    configRel: scratchConfig,
    stateRel,
    home: options.home,
    timeoutMs: options.timeoutMs ?? 10 * 60_000,
    extra: { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  const after = await installedDiscordPluginVersion(host, stateRel);
  if (after === DISCORD_PLUGIN_VERSION) return { installed: true };
  const output = tail(`${result.stdout}\n${result.stderr}`, 25);
  if (/ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ECONNREFUSED|E50\d|network/i.test(output)) {
    throw new TransientError(`Installing the Discord plugin failed on a network error.\nopenclaw said:\n${output}`);
  }
  throw new TerminalError(
    `Installing the Discord plugin (${DISCORD_PLUGIN_PACKAGE}@${DISCORD_PLUGIN_VERSION}) into ${stateRel} failed ` +
      `(exit code ${result.code}). Check the output below, fix the cause and retry:\n${output}`,
  );
}
