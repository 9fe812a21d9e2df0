/**
 * End to end with the real OpenClaw: installs the pinned runtime into the default cache dir (the
 * first run takes minutes; later runs reuse it), validates rendered configs with `openclaw config
 * validate`, runs the real gateway on a free port in 19000–19499 and stops it.
 *
 * Only with FLEET_TEST_OPENCLAW=1 (npm run test:openclaw). Traffic: the npm registry (runtime and
 * plugin installs, served from npm's cache when warm) and loopback; the gateway runs with update
 * checks, telemetry and the hosted model catalog off and without Discord (with Discord configured
 * it would dial discord.com), so it talks to nothing but loopback.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/hosts/atomic-write.ts';
import { openclawHealth, runOpenclaw, parseJsonOutput, validateOpenclawConfig } from '../../src/gateway/cli.ts';
import { renderOpenclawConfig, type OpenclawConfigInput } from '../../src/gateway/config.ts';
import { probe } from '../../src/gateway/health.ts';
import { ensureDiscordPlugin, installedDiscordPluginVersion } from '../../src/gateway/plugins.ts';
import { ensureGatewayRunning, gatewayPidfile, isHealthy, stopGateway } from '../../src/gateway/process.ts';
import { ensureOpenclawRuntime, type OpenclawRuntime } from '../../src/gateway/runtime.ts';
import { DISCORD_PLUGIN_VERSION, OPENCLAW_VERSION } from '../../src/gateway/version.ts';
import { configuredRuntimeCacheDir, freePort, scratchDir } from './helpers.ts';

const enabled = process.env.FLEET_TEST_OPENCLAW === '1';
const MINUTE = 60_000;
const TOKEN = 'tok_real_gateway_0123456789abcdef';

describe.skipIf(!enabled)('the real OpenClaw gateway', () => {
  let runtime: OpenclawRuntime;
  let root: string;
  let input: OpenclawConfigInput;
  const pidfiles: string[] = [];

  beforeAll(async () => {
    delete process.env.FLEET_GATEWAY_COMMAND; // this file is about the real thing
    const began = Date.now();
    const cacheDir = configuredRuntimeCacheDir();
    runtime = await ensureOpenclawRuntime({ cacheDir, log: (m) => console.log(`[runtime] ${m}`) });
    console.log(`[runtime] ${runtime.dir} ready after ${((Date.now() - began) / 1000).toFixed(1)} s (cache ${cacheDir})`);
    root = scratchDir('real');
    const agents = ['popashot', 'cantona'].map((id, i) => {
      const workspace = join(root, 'workspaces', id);
      mkdirSync(workspace, { recursive: true }); // the gateway does not create workspaces
      return {
        id,
        name: id[0]!.toUpperCase() + id.slice(1),
        role: i === 0 ? 'orchestrator' : 'engineer',
        workspace,
        agentDir: join(root, 'openclaw', 'agents', id),
      };
    });
    input = { port: await freePort(), token: TOKEN, stateDir: join(root, 'openclaw', 'state'), agents, offline: true };
  }, 40 * MINUTE);

  afterAll(async () => {
    for (const pidfile of pidfiles) await stopGateway(pidfile);
  });

  const write = async (name: string, config: unknown) => {
    const path = join(root, 'openclaw', name);
    await writeFileAtomic(path, JSON.stringify(config, null, 2));
    return path;
  };

  it('runs the pinned versions', async () => {
    expect(runtime.kind).toBe('openclaw');
    const result = await runOpenclaw(runtime, ['--version'], { configPath: join(root, 'none.json'), stateDir: root });
    expect(result.stdout).toContain(`OpenClaw ${OPENCLAW_VERSION}`);
  });

  it(
    'accepts the rendered config for two agents, with and without Discord',
    async () => {
      const stateDir = input.stateDir!;
      const plain = await validateOpenclawConfig(runtime, { configPath: await write('plain.json', renderOpenclawConfig(input)), stateDir });
      expect(plain).toEqual({ valid: true, issues: [], warnings: [] });

      const discord = renderOpenclawConfig({
        ...input,
        discord: {
          guildId: '222222222222222222',
          channelIds: ['333333333333333331', '333333333333333332'],
          accounts: [
            { agentId: 'popashot', token: 'bot-token-a', applicationId: '111111111111111111' },
            { agentId: 'cantona', token: 'bot-token-b' },
          ],
        },
      });
      const withDiscord = await validateOpenclawConfig(runtime, { configPath: await write('discord.json', discord), stateDir });
      expect(withDiscord.issues).toEqual([]);
      expect(withDiscord.valid).toBe(true);
      // The only warning: the plugin is not installed in this state dir (ensureDiscordPlugin does it).
      expect(withDiscord.warnings.every((w) => w.path === 'plugins.entries.discord')).toBe(true);
    },
    3 * MINUTE,
  );

  it(
    'refuses unknown keys, so the renderer must stay within the schema',
    async () => {
      const config = { ...renderOpenclawConfig(input), notAnOpenclawKey: true };
      const result = await validateOpenclawConfig(runtime, { configPath: await write('bad.json', config), stateDir: input.stateDir! });
      expect(result.valid).toBe(false);
      expect(result.issues).toEqual([expect.objectContaining({ path: '<root>', message: expect.stringContaining('notAnOpenclawKey') })]);
    },
    2 * MINUTE,
  );

  it(
    'starts the gateway, which becomes live and ready, reports both agents, is left alone, and stops',
    async () => {
      const configPath = await write('openclaw.json', renderOpenclawConfig(input));
      pidfiles.push(gatewayPidfile(configPath));
      const options = {
        runtime,
        configPath,
        stateDir: input.stateDir!,
        port: input.port,
        token: TOKEN,
        logFile: join(root, 'openclaw', 'gateway.log'),
      };

      const first = await ensureGatewayRunning({ ...options, timeoutMs: 4 * MINUTE });
      console.log(`[gateway] pid ${first.pid} live and ready on 127.0.0.1:${input.port} after ${((first.ms ?? 0) / 1000).toFixed(1)} s`);
      expect(first.restarted).toBe(true);
      expect(await probe(input.port, '/healthz')).toMatchObject({ status: 200, body: { ok: true, status: 'live' } });
      expect(await probe(input.port, '/readyz')).toMatchObject({ status: 200, body: { ready: true, failing: [] } });

      const health = (await openclawHealth(runtime, { configPath, stateDir: input.stateDir!, token: TOKEN })) as any;
      console.log(
        `[gateway] openclaw health: plugins ${health.plugins?.loaded?.length} loaded, errors ${JSON.stringify(health.plugins?.errors)}`,
      );
      expect(health.ok).toBe(true);
      expect(health.agents.map((a: { agentId: string }) => a.agentId).sort()).toEqual(['cantona', 'popashot']);
      expect(health.defaultAgentId).toBe('popashot');
      expect(health.plugins.errors).toEqual([]);

      expect(await ensureGatewayRunning({ ...options, timeoutMs: MINUTE })).toEqual({ restarted: false, pid: first.pid });

      const stopped = await stopGateway(gatewayPidfile(configPath));
      expect(stopped).toMatchObject({ stopped: true, pid: first.pid, killed: false });
      expect(await isHealthy(input.port)).toBe(false);
    },
    8 * MINUTE,
  );

  it(
    'installs the pinned Discord plugin into a state dir as a trusted official plugin, once',
    async () => {
      const stateDir = join(root, 'discord-state');
      const began = Date.now();
      expect(await ensureDiscordPlugin({ runtime, stateDir, log: (m) => console.log(`[plugin] ${m}`) })).toEqual({ installed: true });
      console.log(`[plugin] installed in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      expect(await installedDiscordPluginVersion(stateDir)).toBe(DISCORD_PLUGIN_VERSION);
      expect(await ensureDiscordPlugin({ runtime, stateDir })).toEqual({ installed: false });

      const inspect = await runOpenclaw(runtime, ['plugins', 'inspect', 'discord', '--json'], {
        configPath: join(root, 'openclaw', 'discord.json'),
        stateDir,
      });
      const report = parseJsonOutput(inspect.stdout) as any;
      expect(report.plugin).toMatchObject({ id: 'discord', version: DISCORD_PLUGIN_VERSION, status: 'loaded' });
      expect(report.plugin.trust ?? report.install).toMatchObject({ reason: 'trusted-official', installSource: 'npm' });
    },
    12 * MINUTE,
  );
});
