import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { reconcileOnce } from '../../src/pipeline/reconciler.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { waitForFleet } from '../harness/wait.ts';
import { type DiscordStandin, startDiscordStandin } from '../standins/discord-server.ts';
import { type MissionControlStandin, startMissionControlStandin } from '../standins/mission-control-server.ts';

/**
 * The health rollup of a fleet with Discord and Mission Control configured (their stand-ins): per
 * agent its bot's account as the gateway reports it and its channels as Discord answers the bot,
 * and Mission Control; a revoked bot token or a Mission Control outage shows on the right line,
 * and neither moves the fleet to error (they are the tenant's to fix).
 */
const BOT_TOKEN = 'MTAx.health-bot-token';
const GUILD = '700000000000000001';
const CHANNELS = ['700000000000000011', '700000000000000012'];
const MC_TOKEN = 'mc-health-token';

let t: TestApp;
let discord: DiscordStandin;
let mc: MissionControlStandin;
const bots: Record<string, { id: string; username: string }> = { [BOT_TOKEN]: { id: '700000000000000099', username: 'Cantona' } };

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  discord = await startDiscordStandin({ bots, guilds: { [GUILD]: { name: 'Acme', members: ['700000000000000099'], channels: CHANNELS } } });
  mc = await startMissionControlStandin({ token: MC_TOKEN });
  t = await createTestApp({
    workers: { concurrency: 1 },
    env: { FLEET_DISCORD_API_URL: discord.url, FLEET_TEST_ALLOW_LOOPBACK_URLS: '1' },
  });
});
afterAll(async () => {
  await t?.close();
  await discord?.close();
  await mc?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

type Check = { state: string; lastError: string | null; lastCheckedAt: string };
type Health = { fleetStatus: string; missionControl: Check; agents: Array<{ name: string } & Record<string, Check>> };

describe('the health rollup with Discord and Mission Control', () => {
  it("reports each agent's bot and channels and Mission Control; their failures are shown, not acted on", async () => {
    const token = t.token({ userId: 'user_health_dc' });
    const body = {
      templateId: 'solo-engineer',
      discord: { guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'cantona', token: BOT_TOKEN }] },
      missionControl: { url: mc.url, token: MC_TOKEN },
    };
    expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: body })).status).toBe(202);
    const fleet = await waitForFleet(t, token, ['active', 'error']);
    expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
    const config = { intervalSeconds: 30, unhealthyChecks: 1, deleteOrphans: false };
    const pass = () => reconcileOnce({ db: t.database.db, settings: t.settings, log: createLogger('silent'), config });
    const health = async () => ((await (await t.request('/api/fleet/health', { token })).json()) as { health: Health }).health;

    await pass();
    const ok = await health();
    expect(ok.missionControl.state).toBe('ok');
    expect(ok.agents[0]).toMatchObject({ name: 'cantona', discordConnected: { state: 'ok' }, channelsReachable: { state: 'ok' } });

    // The bot's token is revoked in Discord and Mission Control goes down.
    delete bots[BOT_TOKEN];
    mc.setHealthy(false);
    await pass();
    const bad = await health();
    expect(bad.agents[0]?.channelsReachable).toMatchObject({ state: 'failing', lastError: expect.stringMatching(/\S/) });
    expect(bad.agents[0]?.channelsReachable?.lastError).not.toContain(BOT_TOKEN);
    expect(bad.missionControl).toMatchObject({ state: 'failing', lastError: expect.stringMatching(/\S/) });
    expect(bad.agents[0]?.gatewayUp?.state).toBe('ok');
    // Even with one failed check enough to act on, the fleet stays active: these are the tenant's to fix.
    expect(bad.fleetStatus).toBe('active');
  });
});
