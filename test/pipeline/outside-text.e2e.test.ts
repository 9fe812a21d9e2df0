import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { type FleetBody, waitForFleet } from '../harness/wait.ts';
import { type DiscordStandin, startDiscordStandin } from '../standins/discord-server.ts';
import { type MissionControlStandin, startMissionControlStandin } from '../standins/mission-control-server.ts';

/**
 * What outside parties send (Mission Control, Discord) and what the server's own file system says
 * must never wedge a run or reach a tenant's log as it is: NUL bytes and other control characters
 * are cleaned before PostgreSQL sees them, and paths are shown relative to the machine.
 */
const STANDIN_GATEWAY = path.resolve('test/gateway/standin-gateway.mjs');
const GUILD = '111111111111111111';
const CHANNELS = ['222222222222222222'];
const BOT_TOKEN = 'MTAx.bot-token-nul-SECRET';
const MC_TOKEN = 'mc-token-nul-SECRET';
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f]/;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-outside-'));
let t: TestApp | undefined;
let discord: DiscordStandin | undefined;
let mc: MissionControlStandin | undefined;

async function setUp(): Promise<TestApp> {
  if (t) return t;
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  discord = await startDiscordStandin({
    bots: { [BOT_TOKEN]: { id: '900000000000000009', username: 'Can\u0000to\u0007na\ud800' } },
    guilds: { [GUILD]: { name: 'Ac\u0000me', members: ['900000000000000009'], channels: CHANNELS } },
  });
  mc = await startMissionControlStandin({ token: MC_TOKEN });
  t = await createTestApp({
    workers: { concurrency: 2 },
    env: {
      FLEET_GIT_BASE_URL: makeBareRepos(path.join(scratch, 'forge'), ['acme/api']),
      FLEET_DISCORD_API_URL: discord.url,
      FLEET_HEARTBEAT_SECONDS: '0.5',
      FLEET_STALE_AFTER_SECONDS: '2',
      FLEET_TEST_ALLOW_LOOPBACK_URLS: '1',
    },
  });
  return t;
}
afterAll(async () => {
  await t?.close();
  await discord?.close();
  await mc?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
  fs.rmSync(scratch, { recursive: true, force: true });
});

const admin = (app: TestApp, org: string) => app.token({ userId: 'user_admin', orgId: org, orgRole: 'admin' });
const provision = (app: TestApp, token: string, json: unknown) => app.request('/api/fleet/provision', { method: 'POST', token, json });

async function runsOf(app: TestApp, org: string) {
  return app.database.db
    .selectFrom('provision_runs')
    .innerJoin('fleets', 'fleets.id', 'provision_runs.fleet_id')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select(['provision_runs.status', 'provision_runs.error', 'provision_runs.attempts'])
    .where('tenants.clerk_org_id', '=', org)
    .execute();
}

describe('answers with NUL bytes and control characters', () => {
  it('a Mission Control error body with NUL bytes ends the run in error at once, with a readable log', async () => {
    const app = await setUp();
    mc!.failNext(418, { rawBody: 'tea\u0000pot\u0001 \ud800 answer', times: 100 });
    const token = admin(app, 'org_nulmc');
    const res = await provision(app, token, { templateId: 'solo-engineer', missionControl: { url: mc!.url, token: MC_TOKEN } });
    expect(res.status).toBe(202);
    // Well within the time a crashing run needs to be re-enqueued even once (stale after 2 s).
    const fleet = await waitForFleet(app, token, ['error', 'active'], 15_000);
    expect(fleet.status).toBe('error');
    const error = fleet.provisionLog.find((e) => e.status === 'error')!;
    expect(error.step).toBe('connectivity_check');
    expect(error.message).toMatch(/Mission Control .*answered 418/);
    expect(error.message).not.toMatch(CONTROL);
    // One call to Mission Control: the run was not replayed by the watchdog.
    expect(mc!.requests).toHaveLength(1);
    const runs = await runsOf(app, 'org_nulmc');
    expect(runs).toEqual([expect.objectContaining({ status: 'error', attempts: 1 })]);
    expect(runs[0]!.error).not.toMatch(CONTROL);
  });

  it('a Discord bot and guild named with NUL bytes give an active fleet and a clean log', async () => {
    const app = await setUp();
    const token = admin(app, 'org_nuldiscord');
    const res = await provision(app, token, {
      templateId: 'solo-engineer',
      discord: { guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'cantona', token: BOT_TOKEN }] },
    });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(app, token, ['error', 'active'], 15_000);
    expect(fleet.status, JSON.stringify(fleet.provisionLog)).toBe('active');
    const check = fleet.provisionLog.find((e) => e.step === 'connectivity_check' && e.status === 'complete')!;
    expect(check.message).toContain('Discord: 1 bot verified in guild 111111111111111111 ("Acme")');
    for (const e of fleet.provisionLog) expect(e.message ?? '').not.toMatch(CONTROL);
    expect((await runsOf(app, 'org_nuldiscord'))[0]).toMatchObject({ status: 'complete', attempts: 1 });
  });
});

describe('paths in the provision log', () => {
  const noServerPaths = (app: TestApp, fleet: FleetBody) => {
    for (const e of fleet.provisionLog) expect(e.message ?? '', `${e.step} ${e.status}`).not.toContain(app.dataDir);
  };

  it('a provisioning shows no server path', async () => {
    const app = await setUp();
    const token = admin(app, 'org_paths_ok');
    await provision(app, token, { templateId: 'solo-engineer', repos: ['acme/api'] });
    const fleet = await waitForFleet(app, token, ['error', 'active'], 15_000);
    expect(fleet.status).toBe('active');
    noServerPaths(app, fleet);
  });

  it('a failing one names the path relative to the machine', async () => {
    const app = await setUp();
    expect((await app.createTenant({ tenantId: 'paths_fail', name: 'Paths', clerkOrgId: 'org_pathsfail' })).status).toBe(201);
    // A file where the workspaces directory belongs: mkdir fails with the operating system's words.
    const root = path.join(app.dataDir, 'fleets', 'paths_fail');
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'workspaces'), 'not a directory');
    const token = admin(app, 'org_pathsfail');
    await provision(app, token, { templateId: 'solo-engineer', repos: ['acme/api'] });
    const fleet = await waitForFleet(app, token, ['error', 'active'], 15_000);
    expect(fleet.status).toBe('error');
    const error = fleet.provisionLog.find((e) => e.status === 'error')!;
    expect(error.step).toBe('workspace_bootstrap');
    expect(error.message).toMatch(/'workspaces\/cantona'/);
    noServerPaths(app, fleet);
    const runs = await app.database.db.selectFrom('provision_runs').select('error').where('error', 'is not', null).execute();
    for (const r of runs) expect(r.error).not.toContain(app.dataDir);
  });
});
