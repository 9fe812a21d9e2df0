import { describe, expect, it } from 'vitest';
import type { TestApp } from '../../../test/harness/app.ts';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';

/**
 * POST /api/fleet/provision at the HTTP edge: what it accepts, what it refuses and for whom. The
 * runs it starts are followed to the end in test/pipeline/provision.e2e.test.ts. No workers run
 * here: the answer is the recorded intent.
 */
const app = useStandinApp({});
const GUILD = '111111111111111111';
const CHANNELS = ['222222222222222222'];
const admin = (t: TestApp, org: string) => t.token({ userId: 'user_admin', orgId: org, orgRole: 'admin' });
const provision = (t: TestApp, token: string, json: unknown = {}) => t.request('/api/fleet/provision', { method: 'POST', token, json });

describe('POST /api/fleet/provision', () => {
  it("202 with the queued run and the caller's new pending → provisioning fleet, its agents copied from the template", async () => {
    const t = app();
    const res = await provision(t, admin(t, 'org_prov_ok'), { templateId: 'solo-engineer', repos: ['acme/api'] });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string; started: boolean; fleet: { status: string; repos: string[]; agentSpecs: unknown } };
    expect(body).toMatchObject({ ok: true, started: true, runId: expect.stringMatching(/^run_/) });
    expect(body.fleet).toMatchObject({ status: 'provisioning', repos: ['acme/api'], agentSpecs: [{ name: 'cantona', role: 'engineer' }] });
    const stored = await t.database.db
      .selectFrom('fleets')
      .select('agents')
      .where('id', 'in', t.database.db.selectFrom('provision_runs').select('fleet_id').where('id', '=', body.runId))
      .executeTakeFirstOrThrow();
    expect(stored.agents).toEqual([
      expect.objectContaining({ name: 'cantona', displayName: 'Cantona', role: 'engineer', persona: expect.any(String) }),
    ]);
  });

  it.each([
    [{ repos: ['../etc/passwd'] }, 'repos.0', /owner\/name/],
    [{ repos: ['acme/..'] }, 'repos.0', /must not start with '\.'/],
    [{ repos: ['acme/.git'] }, 'repos.0', /must not start with '\.'/],
    [{ repos: ['acme/.hidden'] }, 'repos.0', /must not start with '\.'/],
    // Accepted before, then failed in workspace_bootstrap: the clone rule and the input rule are one now.
    [{ repos: ['acme/foo.git'] }, 'repos.0', /leave out the trailing \.git/],
    [{ repos: ['/abs/path'] }, 'repos.0', /owner\/name/],
    [{ discord: { guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: '../evil', token: 'x' }] } }, 'discord.bots.0.agent', /agent name/],
    [
      { discord: { guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'nobody', token: 'x' }] } },
      'discord.bots',
      /not an agent of template/,
    ],
    [{ discord: { guildId: 'general', channelIds: CHANNELS, bots: [{ agent: 'cantona', token: 'x' }] } }, 'discord.guildId', /Discord id/],
    [
      { discord: { guildId: GUILD, channelIds: [], bots: [{ agent: 'cantona', token: 'x' }] } },
      'discord.channelIds',
      /at least one channel/,
    ],
    [
      {
        discord: {
          guildId: GUILD,
          channelIds: CHANNELS,
          bots: [
            { agent: 'cantona', token: 'a' },
            { agent: 'cantona', token: 'b' },
          ],
        },
      },
      'discord.bots.1.agent',
      /agent 'cantona' has two bots/,
    ],
    [
      {
        discord: {
          guildId: GUILD,
          channelIds: CHANNELS,
          bots: [
            { agent: 'cantona', token: 'MTAx.same-bot-token' },
            { agent: 'popashot', token: 'MTAx.same-bot-token' },
          ],
        },
      },
      'discord.bots.1.token',
      /^discord\.bots\.1\.token: agents 'cantona' and 'popashot' have the same bot token; each agent needs its own Discord bot$/,
    ],
    [{ missionControl: { url: 'ftp://x', token: 't' } }, 'missionControl.url', /./],
    // Addresses a tenant must not make the control plane call (server-side request forgery).
    ...[
      ['http://169.254.169.254/latest/meta-data', /cloud metadata/],
      ['https://[fd00:ec2::254]/', /cloud metadata/],
      ['https://10.1.2.3:8443', /private address/],
      ['https://[fc00::1]/', /private address/],
      ['https://192.168.0.10', /private address/],
      ['https://100.64.0.1', /carrier-grade NAT/],
      ['https://[fe80::1]/', /link-local/],
      ['http://127.0.0.1:5432', /loopback/],
      ['https://2130706433/', /loopback/],
      ['https://[::ffff:127.0.0.1]:8080/', /loopback/],
      ['https://[::1]/', /loopback/],
      ['https://0.0.0.0/', /unspecified/],
      ['https://224.0.0.1/', /multicast/],
      ['http://localhost:9000', /localhost/],
      ['https://api.localhost/', /localhost/],
    ].map(([url, why]) => [{ missionControl: { url, token: 'mc-token' } }, 'missionControl.url', why] as [unknown, string, RegExp]),
    [{ templateId: 'nope' }, 'templateId', /unknown template 'nope'; known: /],
    [{ surprise: 1 }, '', /./],
  ])('400 for %j, naming the field, and no tenant is created', async (json, field, message) => {
    const t = app();
    const res = await provision(t, admin(t, 'org_invalid'), json);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; details?: { field?: string } } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.message).toMatch(message);
    if (field) expect(body.error.details?.field).toBe(field);
    expect(await t.request('/api/fleet', { token: admin(t, 'org_invalid') }).then((r) => r.json())).toEqual({ ok: true, fleet: null });
  });

  it('while its run is queued: the same request answers that run, a different one is a 409 naming it (never dropped)', async () => {
    const t = app();
    const token = admin(t, 'org_prov_busy');
    const first = (await (await provision(t, token, { templateId: 'solo-engineer', repos: ['acme/api'] })).json()) as { runId: string };
    for (const json of [{}, { templateId: 'solo-engineer', repos: ['acme/api'] }]) {
      const same = await provision(t, token, json);
      expect(same.status).toBe(202);
      expect(await same.json()).toMatchObject({ runId: first.runId, started: false });
    }
    const changed = await provision(t, token, { repos: ['acme/web'] });
    expect(changed.status).toBe(409);
    expect(((await changed.json()) as { error: { message: string } }).error.message).toBe(
      `Cannot provision with new settings: provision run ${first.runId} is queued and they would not be applied. ` +
        'Wait for it to end (or cancel it), then provision again with them.',
    );
    expect(((await (await t.request('/api/fleet', { token })).json()) as { fleet: { repos: string[] } }).fleet.repos).toEqual(['acme/api']);
  });

  it('while its run is queued: the same request with Discord still answers that run (stored JSON comes back reordered)', async () => {
    const t = app();
    const token = admin(t, 'org_prov_busy_discord');
    const json = {
      templateId: 'solo-engineer',
      discord: { guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'cantona', token: 'MTAx.same-bot' }] },
    };
    const first = (await (await provision(t, token, json)).json()) as { runId: string };
    const same = await provision(t, token, json);
    expect(same.status).toBe(202);
    expect(await same.json()).toMatchObject({ runId: first.runId, started: false });
  });

  it('409 in error after a failed resume: provisioning would only replay the build, the resume is what to retry', async () => {
    const t = app();
    expect((await t.createTenant({ tenantId: 'prov_resfail', name: 'R', clerkOrgId: 'org_provresfail' })).status).toBe(201);
    const fleet = await t.database.db
      .selectFrom('fleets')
      .select('id')
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'prov_resfail'))
      .executeTakeFirstOrThrow();
    await t.database.db.updateTable('fleets').set({ status: 'error' }).where('id', '=', fleet.id).execute();
    const run = await t.database.db
      .insertInto('provision_runs')
      .values({
        id: 'run_resumefailed',
        fleet_id: fleet.id,
        kind: 'resume',
        status: 'error',
        worker: null,
        error: 'x',
        failed_step: 'machine_start',
        started_at: null,
        heartbeat_at: null,
        finished_at: null,
        last_crash: null,
        requested_by: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const res = await provision(t, admin(t, 'org_provresfail'));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      `Cannot provision: fleet is in error after its resume run ${run.id} failed; allowed: retry, deprovision.`,
    );
    // Retry retries that resume.
    expect(await (await t.request('/api/fleet/retry', { method: 'POST', token: admin(t, 'org_provresfail') })).json()).toMatchObject({
      started: true,
    });
    const kinds = await t.database.db
      .selectFrom('provision_runs')
      .select(['kind', 'retry', 'status'])
      .where('fleet_id', '=', fleet.id)
      .orderBy('created_at')
      .execute();
    expect(kinds).toEqual([
      { kind: 'resume', retry: false, status: 'error' },
      { kind: 'resume', retry: true, status: 'queued' },
    ]);
  });

  it('409 naming the status and the actions it allows when the fleet is active', async () => {
    const t = app();
    expect((await t.createTenant({ tenantId: 'prov_active', name: 'Active', clerkOrgId: 'org_provactive' })).status).toBe(201);
    await t.database.db
      .updateTable('fleets')
      .set({ status: 'active' })
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'prov_active'))
      .execute();
    const res = await provision(t, admin(t, 'org_provactive'));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'illegal_transition',
      message: 'Cannot provision: fleet is active; allowed: suspend, reconfigure, reprovision, deprovision.',
    });
  });
});

describeSessionRouteSecurity({ method: 'POST', path: '/api/fleet/provision', json: {} }, app, {
  forbidden: async (t) => {
    const member = t.token({ userId: 'user_member', orgId: 'org_members_only', orgRole: 'member' });
    const res = await t.request('/api/fleet/provision', { method: 'POST', token: member, json: {} });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect(await (await t.request('/api/fleet', { token: member })).json()).toEqual({ ok: true, fleet: null });
  },
  otherTenant: async (t) => {
    // Provisioning acts on the caller's own tenant only: another org's fleet is untouched.
    expect((await t.createTenant({ tenantId: 'prov_victim', name: 'Victim', clerkOrgId: 'org_provvictim' })).status).toBe(201);
    const before = await (await t.request('/api/tenants/prov_victim', { platform: true })).json();
    const res = await t.request('/api/fleet/provision?tenantId=prov_victim', {
      method: 'POST',
      token: t.token({ userId: 'user_x', orgId: 'org_other', orgRole: 'admin' }),
      json: { templateId: 'solo-engineer' },
    });
    expect(res.status).toBe(202);
    expect(await (await t.request('/api/tenants/prov_victim', { platform: true })).json()).toEqual(before);
  },
});
