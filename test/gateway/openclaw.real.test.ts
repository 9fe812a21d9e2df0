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
import { homedir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openclawHealth, runOpenclaw, parseJsonOutput, validateOpenclawConfig } from '../../src/gateway/cli.ts';
import { renderOpenclawConfig, type OpenclawConfigInput } from '../../src/gateway/config.ts';
import { probe } from '../../src/gateway/health.ts';
import { ensureDiscordPlugin, installedDiscordPluginVersion } from '../../src/gateway/plugins.ts';
import { ensureGatewayRunning, isHealthy, stopGateway } from '../../src/gateway/process.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { ensureOpenclawRuntime, type OpenclawRuntime } from '../../src/gateway/runtime.ts';
import { DISCORD_PLUGIN_VERSION, OPENCLAW_VERSION } from '../../src/gateway/version.ts';
import { configuredRuntimeCacheDir, freePort, scratchDir } from './helpers.ts';

const enabled = process.env.FLEET_TEST_OPENCLAW === '1';
const MINUTE = 60_000;
const TOKEN = 'tok_real_gateway_0123456789abcdef';

describe.skipIf(!enabled)('the real OpenClaw gateway', () => {
  let runtime: OpenclawRuntime;
  let host: LocalHost;
  let input: OpenclawConfigInput;
  // The runtime's downloads are in this user's npm cache: plugin installs reuse them.
  const home = homedir();
  const STATE = 'openclaw/state';

  beforeAll(async () => {
    delete process.env.FLEET_GATEWAY_COMMAND; // this file is about the real thing
    const began = Date.now();
    const cacheDir = configuredRuntimeCacheDir();
    runtime = await ensureOpenclawRuntime({ cacheDir, log: (m) => console.log(`[runtime] ${m}`) });
    console.log(`[runtime] ${runtime.dir} ready after ${((Date.now() - began) / 1000).toFixed(1)} s (cache ${cacheDir})`);
    host = new LocalHost(scratchDir('real'));
    const agents = [];
    for (const [i, id] of ['popashot', 'cantona'].entries()) {
      await host.mkdirp(`workspaces/${id}`); // the gateway does not create workspaces
      agents.push({
        id,
        name: id[0]!.toUpperCase() + id.slice(1),
        role: i === 0 ? 'orchestrator' : 'engineer',
        workspace: host.resolve(`workspaces/${id}`),
        agentDir: host.resolve(`openclaw/agents/${id}`),
      });
    }
    input = { port: await freePort(), token: TOKEN, stateDir: host.resolve(STATE), agents, offline: true };
  }, 40 * MINUTE);

  afterAll(async () => {
    await stopGateway(host);
  });

  /** Writes a config under openclaw/ and gives its path relative to the machine root. */
  const write = async (name: string, config: unknown) => {
    const rel = `openclaw/${name}`;
    await host.writeFileAtomic(rel, JSON.stringify(config, null, 2));
    return rel;
  };
  const cli = (configRel: string, stateRel = STATE) => ({ configRel, stateRel, home });

  it('runs the pinned versions', async () => {
    expect(runtime.kind).toBe('openclaw');
    const result = await runOpenclaw(host, runtime, ['--version'], cli('none.json', '.'));
    expect(result.stdout).toContain(`OpenClaw ${OPENCLAW_VERSION}`);
  });

  it(
    'accepts the rendered config for two agents, with and without Discord',
    async () => {
      const plain = await validateOpenclawConfig(host, runtime, cli(await write('plain.json', renderOpenclawConfig(input))));
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
      const withDiscord = await validateOpenclawConfig(host, runtime, cli(await write('discord.json', discord)));
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
      const result = await validateOpenclawConfig(host, runtime, cli(await write('bad.json', config)));
      expect(result.valid).toBe(false);
      expect(result.issues).toEqual([expect.objectContaining({ path: '<root>', message: expect.stringContaining('notAnOpenclawKey') })]);
    },
    2 * MINUTE,
  );

  it(
    'starts the gateway, which becomes live and ready, reports both agents, is left alone, and stops',
    async () => {
      const configRel = await write('openclaw.json', renderOpenclawConfig(input));
      const options = { runtime, configRel, stateRel: STATE, logRel: 'openclaw/gateway.log', port: input.port, token: TOKEN, home };

      const first = await ensureGatewayRunning(host, { ...options, timeoutMs: 4 * MINUTE });
      console.log(`[gateway] pid ${first.pid} live and ready on 127.0.0.1:${input.port} after ${((first.ms ?? 0) / 1000).toFixed(1)} s`);
      expect(first.restarted).toBe(true);
      expect(await probe(host, input.port, '/healthz')).toMatchObject({ status: 200, body: { ok: true, status: 'live' } });
      expect(await probe(host, input.port, '/readyz')).toMatchObject({ status: 200, body: { ready: true, failing: [] } });

      const health = (await openclawHealth(host, runtime, { ...cli(configRel), token: TOKEN })) as any;
      console.log(
        `[gateway] openclaw health: plugins ${health.plugins?.loaded?.length} loaded, errors ${JSON.stringify(health.plugins?.errors)}`,
      );
      expect(health.ok).toBe(true);
      expect(health.agents.map((a: { agentId: string }) => a.agentId).sort()).toEqual(['cantona', 'popashot']);
      expect(health.defaultAgentId).toBe('popashot');
      expect(health.plugins.errors).toEqual([]);

      expect(await ensureGatewayRunning(host, { ...options, timeoutMs: MINUTE })).toEqual({ restarted: false, pid: first.pid });

      const stopped = await stopGateway(host);
      expect(stopped).toMatchObject({ stopped: true, pid: first.pid, killed: false });
      expect(await isHealthy(host, input.port)).toBe(false);
    },
    8 * MINUTE,
  );

  it(
    'installs the pinned Discord plugin into a state dir as a trusted official plugin, once',
    async () => {
      const stateRel = 'discord-state';
      const began = Date.now();
      expect(await ensureDiscordPlugin(host, { runtime, stateRel, home, log: (m) => console.log(`[plugin] ${m}`) })).toEqual({
        installed: true,
      });
      console.log(`[plugin] installed in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      expect(await installedDiscordPluginVersion(host, stateRel)).toBe(DISCORD_PLUGIN_VERSION);
      expect(await ensureDiscordPlugin(host, { runtime, stateRel, home })).toEqual({ installed: false });

      const inspect = await runOpenclaw(host, runtime, ['plugins', 'inspect', 'discord', '--json'], cli('openclaw/discord.json', stateRel));
      const report = parseJsonOutput(inspect.stdout) as any;
      expect(report.plugin).toMatchObject({ id: 'discord', version: DISCORD_PLUGIN_VERSION, status: 'loaded' });
      expect(report.plugin.trust ?? report.install).toMatchObject({ reason: 'trusted-official', installSource: 'npm' });
    },
    12 * MINUTE,
  );
});
