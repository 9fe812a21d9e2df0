import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { completeCounts, type FleetBody, waitForFleet } from '../harness/wait.ts';
import { type DiscordStandin, startDiscordStandin } from '../standins/discord-server.ts';
import { type MissionControlStandin, startMissionControlStandin } from '../standins/mission-control-server.ts';

/**
 * Reconfiguring an active fleet end to end through HTTP on the local driver (stand-in gateway,
 * Discord and Mission Control, real git): each change re-does only the steps that depend on it.
 */
const GUILD = '111111111111111111';
const CHANNELS = ['222222222222222222'];
const BOT_TOKEN = 'MTAx.reconfigure-bot-SECRET';
const MC_TOKEN = 'mc-token-reconfigure-1';
const MC_TOKEN_2 = 'mc-token-reconfigure-2';

let t: TestApp;
let discord: DiscordStandin;
let mc: MissionControlStandin;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-reconf-'));

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = path.resolve('test/gateway/standin-gateway.mjs');
  const gitBase = makeBareRepos(path.join(scratch, 'forge'), ['acme/api', 'acme/web']);
  discord = await startDiscordStandin({
    bots: { [BOT_TOKEN]: { id: '900000000000000001', username: 'Cantona' } },
    guilds: { [GUILD]: { name: 'Acme', members: ['900000000000000001'], channels: CHANNELS } },
  });
  // Both tokens are accepted: the check is that the new one reaches the check.
  mc = await startMissionControlStandin({ token: MC_TOKEN });
  t = await createTestApp({
    workers: { concurrency: 2 },
    env: {
      FLEET_GIT_BASE_URL: gitBase,
      FLEET_DISCORD_API_URL: discord.url,
      FLEET_HEARTBEAT_SECONDS: '0.5',
      FLEET_TEST_ALLOW_LOOPBACK_URLS: '1',
    },
  });
});
afterAll(async () => {
  await t.close();
  await discord.close();
  await mc.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
  fs.rmSync(scratch, { recursive: true, force: true });
});

const reconfigure = async (token: string, json: unknown): Promise<FleetBody> => {
  const res = await t.request('/api/fleet', { method: 'PATCH', token, json });
  expect(res.status, await res.clone().text()).toBe(202);
  const fleet = await waitForFleet(t, token, ['active', 'error']);
  expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
  return fleet;
};

describe('reconfigure an active fleet', () => {
  it('a new repo re-does workspace_bootstrap onwards; discord: null removes the bot; Mission Control only re-checks', async () => {
    const token = t.token({ userId: 'user_rc', orgId: 'org_rc', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', {
      method: 'POST',
      token,
      json: {
        templateId: 'solo-engineer',
        repos: ['acme/api'],
        discord: { guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'cantona', token: BOT_TOKEN }] },
        missionControl: { url: mc.url, token: MC_TOKEN },
      },
    });
    expect(res.status).toBe(202);
    const built = await waitForFleet(t, token, ['active', 'error']);
    expect(built.status, JSON.stringify(built.provisionLog, null, 1)).toBe('active');
    const root = path.join(t.dataDir, 'fleets', 'auto_rc');
    const fleetId = (await t.database.db.selectFrom('fleets').select('id').executeTakeFirstOrThrow()).id;

    const withRepo = await reconfigure(token, { repos: ['acme/api', 'acme/web'] });
    expect(withRepo.repos).toEqual(['acme/api', 'acme/web']);
    expect(completeCounts(withRepo)).toEqual({
      vm_create: 1,
      workspace_bootstrap: 2,
      agent_config: 2,
      gateway_start: 2,
      connectivity_check: 2,
      complete: 2,
    });
    expect(fs.existsSync(path.join(root, 'workspaces/cantona/repos/acme/web/.git'))).toBe(true);

    const noDiscord = await reconfigure(token, { discord: null });
    expect(completeCounts(noDiscord)).toMatchObject({ workspace_bootstrap: 2, agent_config: 3, gateway_start: 3, complete: 3 });
    const config = fs.readFileSync(path.join(root, 'openclaw/openclaw.json'), 'utf8');
    expect(config).not.toContain(BOT_TOKEN);
    const names = (await t.database.db.selectFrom('fleet_secrets').select('name').where('fleet_id', '=', fleetId).execute()).map(
      (s) => s.name,
    );
    expect(names.filter((n) => n.startsWith('discord_'))).toEqual([]);

    // The stand-in accepts only the first token: a changed one fails the check, which is what was re-run.
    const newMc = await t.request('/api/fleet', { method: 'PATCH', token, json: { missionControl: { url: mc.url, token: MC_TOKEN_2 } } });
    expect(newMc.status).toBe(202);
    const failed = await waitForFleet(t, token, ['active', 'error']);
    expect(failed.status).toBe('error');
    expect(failed.provisionLog.at(-1)).toMatchObject({ step: 'connectivity_check', status: 'error' });
    expect(completeCounts(failed)).toMatchObject({ agent_config: 3, gateway_start: 3, connectivity_check: 3 });
    // And from error, reconfigure is how it is fixed: only the check runs again.
    const fixed = await reconfigure(token, { missionControl: { url: mc.url, token: MC_TOKEN } });
    expect(completeCounts(fixed)).toEqual({
      vm_create: 1,
      workspace_bootstrap: 2,
      agent_config: 3,
      gateway_start: 3,
      connectivity_check: 4,
      complete: 4,
    });
  });
});
