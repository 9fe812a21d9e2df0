import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_SERVICE } from '../../src/gateway/service.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { completeCounts, waitForFleet } from '../harness/wait.ts';
import { type DiscordStandin, startDiscordStandin } from '../standins/discord-server.ts';
import { type MissionControlStandin, startMissionControlStandin } from '../standins/mission-control-server.ts';

/**
 * The whole pipeline through the HTTP API on the local driver: real git clones from bare repos,
 * real files, a stand-in gateway process, stand-in Discord and Mission Control servers.
 */
const STANDIN_GATEWAY = path.resolve('test/gateway/standin-gateway.mjs');
const GUILD = '111111111111111111';
const CHANNELS = ['222222222222222222', '333333333333333333'];
const BOT_TOKEN = 'MTAx.bot-token-cantona-SECRET';
const MC_TOKEN = 'mc-token-SECRET-123';
const GIT_TOKEN = 'ghp_e2egittokenSECRET';
// Every log line of every run in this file, at trace level, for the final secrets check.
const logLines: string[] = [];
const logSink = new Writable({
  write: (chunk, _enc, cb) => {
    logLines.push(chunk.toString());
    cb();
  },
});

let t: TestApp;
let discord: DiscordStandin;
let mc: MissionControlStandin;
let gitBase: string;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-e2e-'));

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  gitBase = makeBareRepos(path.join(scratch, 'forge'), ['acme/api', 'acme/web']);
  discord = await startDiscordStandin({
    bots: { [BOT_TOKEN]: { id: '900000000000000001', username: 'Cantona' } },
    guilds: { [GUILD]: { name: 'Acme', members: ['900000000000000001'], channels: CHANNELS } },
  });
  mc = await startMissionControlStandin({ token: MC_TOKEN });
  t = await createTestApp({
    workers: { concurrency: 2 },
    logSink,
    env: {
      FLEET_GIT_BASE_URL: gitBase,
      FLEET_DISCORD_API_URL: discord.url,
      FLEET_HEARTBEAT_SECONDS: '0.5',
      FLEET_STALE_AFTER_SECONDS: '3',
      // The Mission Control stand-in listens on loopback, which tenant URLs may not point at otherwise.
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

const admin = (org: string) => t.token({ userId: 'user_admin', orgId: org, orgRole: 'admin' });
const provision = (token: string, json: unknown = {}) => t.request('/api/fleet/provision', { method: 'POST', token, json });

describe('provisioning end to end (local driver)', () => {
  it('provisions a fleet from one request to active, every step logged once, the machine really built', async () => {
    const token = admin('org_e2e');
    const res = await provision(token, {
      templateId: 'standard-7-agent',
      repos: ['acme/api', 'acme/web'],
      gitToken: GIT_TOKEN,
      discord: { guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'cantona', token: BOT_TOKEN }] },
      missionControl: { url: mc.url, token: MC_TOKEN },
    });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { runId: string; started: boolean; fleet: { status: string } };
    expect(accepted.runId).toMatch(/^run_/);
    expect(accepted.started).toBe(true);
    expect(accepted.fleet.status).toBe('provisioning');

    const fleet = await waitForFleet(t, token, ['active', 'error']);
    expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
    expect(completeCounts(fleet)).toEqual({
      vm_create: 1,
      workspace_bootstrap: 1,
      agent_config: 1,
      gateway_start: 1,
      connectivity_check: 1,
      complete: 1,
    });
    expect(fleet.provisionLog.map((e) => e.step).filter((s, i, a) => a.indexOf(s) === i)).toEqual([
      'vm_create',
      'workspace_bootstrap',
      'agent_config',
      'gateway_start',
      'connectivity_check',
      'complete',
    ]);
    for (const e of fleet.provisionLog.filter((x) => x.status === 'complete')) {
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
      expect(e.message).toBeTruthy();
    }
    expect(fleet.gcpResources).toEqual({ vmName: 'fleet-auto-e2e', zone: null, ip: '127.0.0.1' });
    expect(fleet.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // A long step reports where it is: one progress entry per clone, 7 agents × 2 repos, in order.
    const cloning = fleet.provisionLog.filter((e) => e.step === 'workspace_bootstrap' && e.status === 'running' && e.message !== null);
    expect(cloning.map((e) => e.message)).toEqual(
      ['popashot', 'cantona', 'splinter', 'velma', 'tank', 'zerocool', 'slash'].flatMap((agent, a) =>
        ['acme/api', 'acme/web'].map((repo, r) => `cloning repo ${a * 2 + r + 1} of 14 (${repo} for ${agent})`),
      ),
    );
    expect(new Set(cloning.map((e) => e.runId))).toEqual(new Set([accepted.runId]));
    const connectivity = fleet.provisionLog.find((e) => e.step === 'connectivity_check' && e.status === 'complete')!;
    expect(connectivity.message).toMatch(/Discord: 1 bot/);

    // The machine: workspaces with their files and clones, the gateway config, a live gateway.
    const root = path.join(t.dataDir, 'fleets', 'auto_e2e');
    for (const agent of ['popashot', 'cantona', 'splinter', 'velma', 'tank', 'zerocool', 'slash']) {
      for (const f of ['AGENTS.md', 'SOUL.md', 'IDENTITY.md', 'USER.md'])
        expect(fs.existsSync(path.join(root, 'workspaces', agent, f)), `${agent}/${f}`).toBe(true);
      expect(fs.readFileSync(path.join(root, 'workspaces', agent, 'repos/acme/api/README.md'), 'utf8')).toBe('# acme/api\n');
    }
    const config = JSON.parse(fs.readFileSync(path.join(root, 'openclaw/openclaw.json'), 'utf8'));
    expect(JSON.stringify(config)).toContain('cantona');
    expect(fs.statSync(path.join(root, 'openclaw/openclaw.json')).mode & 0o077).toBe(0);
    const health = await fetch(`${fleet.dashboardUrl}healthz`);
    expect(health.status).toBe(200);
  });

  it('answers a second request during a run with that same run, and 50 concurrent first requests make one run', async () => {
    const token = admin('org_burst');
    const results = await Promise.all(Array.from({ length: 50 }, () => provision(token, { templateId: 'solo-engineer' })));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(202));
    const bodies = (await Promise.all(results.map((r) => r.json()))) as Array<{ runId: string; started: boolean }>;
    expect(new Set(bodies.map((b) => b.runId)).size).toBe(1);
    expect(bodies.filter((b) => b.started)).toHaveLength(1);
    const runs = await t.database.db
      .selectFrom('provision_runs')
      .innerJoin('fleets', 'fleets.id', 'provision_runs.fleet_id')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select('provision_runs.id')
      .where('tenants.clerk_org_id', '=', 'org_burst')
      .execute();
    expect(runs).toHaveLength(1);
    await waitForFleet(t, token, ['active']);
    // Provisioning an active fleet again is a 409 that says why.
    const again = await provision(token);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe(
      'Cannot provision: fleet is active; allowed: suspend, reconfigure, reprovision, deprovision.',
    );
  });

  it('keeps secrets out of every API answer and the database', async () => {
    const token = admin('org_e2e');
    const everything = [
      await (await t.request('/api/fleet', { token })).text(),
      await (await t.request('/api/tenants/auto_e2e', { platform: true })).text(),
      await (await t.request('/api/tenants', { platform: true })).text(),
    ].join('\n');
    for (const secret of [BOT_TOKEN, MC_TOKEN, GIT_TOKEN]) expect(everything).not.toContain(secret);
    const { rows } = await t.database.pool.query(`SELECT string_agg(t::text, ' ') AS dump FROM (
      SELECT settings::text FROM fleets UNION ALL SELECT encode(ciphertext, 'escape') FROM fleet_secrets
      UNION ALL SELECT data::text FROM fleet_events UNION ALL SELECT detail::text FROM audit_log
      UNION ALL SELECT coalesce(message, '') FROM provision_log) t`);
    for (const secret of [BOT_TOKEN, MC_TOKEN, GIT_TOKEN]) expect(rows[0].dump).not.toContain(secret);
    expect(discord.requests.length).toBeGreaterThan(0);
  });
});

describe('fixing a bad setting and provisioning again', () => {
  it('fails at connectivity_check naming the agent, then resumes from agent_config with the new token and restarts the gateway', async () => {
    const token = admin('org_fixit');
    const discordBody = (botToken: string) => ({ guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'cantona', token: botToken }] });
    await provision(token, { templateId: 'standard-7-agent', repos: ['acme/api'], discord: discordBody('MTAx.wrong-token') });
    const failed = await waitForFleet(t, token, ['error', 'active']);
    expect(failed.status).toBe('error');
    const error = failed.provisionLog.find((e) => e.status === 'error')!;
    expect(error.step).toBe('connectivity_check');
    expect(error.message).toMatch(/Discord bot token for .*cantona.* was rejected \(401\)/);
    expect(error.message).not.toContain('wrong-token');
    const machine = new LocalHost(path.join(t.dataDir, 'fleets', 'auto_fixit'));
    const firstPid = (await machine.serviceStatus(GATEWAY_SERVICE)).pid;
    expect(firstPid).toBeGreaterThan(0);

    // "Reset the token … and provision again": only the Discord block is sent; repos are kept.
    const again = await provision(token, { discord: discordBody(BOT_TOKEN) });
    expect(again.status).toBe(202);
    const fixed = await waitForFleet(t, token, ['active', 'error']);
    expect(fixed.status, JSON.stringify(fixed.provisionLog, null, 1)).toBe('active');
    expect(fixed.repos).toEqual(['acme/api']);
    expect(completeCounts(fixed)).toEqual({
      vm_create: 1,
      workspace_bootstrap: 1,
      agent_config: 2,
      gateway_start: 2,
      connectivity_check: 1,
      complete: 1,
    });
    const restart = fixed.provisionLog.filter((e) => e.step === 'gateway_start' && e.status === 'complete').at(-1)!;
    expect(restart.message).toMatch(/restarted with its new configuration/);
    const { running, pid } = await machine.serviceStatus(GATEWAY_SERVICE);
    expect(running).toBe(true);
    expect(pid).not.toBe(firstPid);
    const config = fs.readFileSync(path.join(t.dataDir, 'fleets', 'auto_fixit', 'openclaw/openclaw.json'), 'utf8');
    expect(config).toContain(BOT_TOKEN);
    expect(config).not.toContain('wrong-token');
  });
});

describe('logs', () => {
  // Runs last in this file: after a successful run, a rejected-token run and its fixed rerun.
  it('never contain a secret or a session token, at any level', () => {
    const all = logLines.join('');
    expect(logLines.length).toBeGreaterThan(50);
    for (const secret of [BOT_TOKEN, MC_TOKEN, GIT_TOKEN, 'MTAx.wrong-token']) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/eyJhbGci/); // no session JWT, whole or in part
    expect(all).toMatch(/"level":(10|20)/); // trace/debug lines were captured too
  });
});
