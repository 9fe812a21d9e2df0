import { describe, expect, it } from 'vitest';
import type { TestApp } from '../../../test/harness/app.ts';
import { describePlatformRouteSecurity, describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { type ErrorBody, orgTenantWithFleet, platformView } from '../../../test/harness/tenant-fixtures.ts';

/**
 * PATCH /api/fleet (and the platform's PATCH /api/tenants/{id}/fleet) at the HTTP edge: no workers
 * run here, so a run it starts stays queued and the answer is the recorded intent. The runs are
 * followed to the end in test/pipeline/reconfigure.e2e.test.ts.
 */
const app = useStandinApp({});
const GUILD = '111111111111111111';
const CHANNELS = ['222222222222222222'];
const discord = (token = 'MTAx.bot-token') => ({ guildId: GUILD, channelIds: CHANNELS, bots: [{ agent: 'cantona', token }] });
const patch = (t: TestApp, token: string, json: unknown) => t.request('/api/fleet', { method: 'PATCH', token, json });

/** An active fleet of template solo-engineer with a repo and Discord, as a finished provision leaves it. */
async function activeFleet(t: TestApp, slug: string) {
  const { admin, orgId } = await orgTenantWithFleet(t, slug);
  expect(
    (
      await t.request(`/api/tenants/${slug}/provision`, {
        method: 'POST',
        platform: true,
        json: { templateId: 'solo-engineer', repos: ['acme/api'], discord: discord() },
      })
    ).status,
  ).toBe(202);
  const fleetId = t.database.db
    .selectFrom('fleets')
    .select('id')
    .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', slug));
  await t.database.db.updateTable('provision_runs').set({ status: 'complete' }).where('fleet_id', 'in', fleetId).execute();
  await t.database.db.updateTable('fleets').set({ status: 'active' }).where('id', 'in', fleetId).execute();
  // What a finished provision leaves: a checkpoint per step.
  const id = (await fleetId.executeTakeFirstOrThrow()).id;
  const run = await t.database.db.selectFrom('provision_runs').select('id').where('fleet_id', '=', id).executeTakeFirstOrThrow();
  const steps = ['vm_create', 'workspace_bootstrap', 'agent_config', 'gateway_start', 'connectivity_check', 'complete'];
  await t.database.db
    .insertInto('step_checkpoints')
    .values(
      steps.map((step, position) => ({
        fleet_id: id,
        run_id: run.id,
        kind: 'provision' as const,
        step,
        position,
        output: JSON.stringify({}),
      })),
    )
    .execute();
  return { admin, orgId, fleetId: id };
}

const checkpointSteps = async (t: TestApp, fleetId: string) =>
  (
    await t.database.db
      .selectFrom('step_checkpoints')
      .select('step')
      .where('fleet_id', '=', fleetId)
      .where('kind', '=', 'provision')
      .orderBy('position')
      .execute()
  ).map((c) => c.step);

describe('PATCH /api/fleet', () => {
  it('adds a repo: 202 with a provision run, the fleet provisioning, checkpoints kept before workspace_bootstrap', async () => {
    const t = app();
    const { admin, fleetId } = await activeFleet(t, 'rcf_repo');
    const res = await patch(t, admin, { repos: ['acme/api', 'acme/web'] });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string; started: boolean; fleet: { status: string; repos: string[] } };
    expect(body).toMatchObject({ ok: true, started: true, fleet: { status: 'provisioning', repos: ['acme/api', 'acme/web'] } });
    expect(await checkpointSteps(t, fleetId)).toEqual(['vm_create']);
    const audit = await t.database.db.selectFrom('audit_log').select(['action', 'detail']).where('tenant_slug', '=', 'rcf_repo').execute();
    expect(audit.at(-1)).toMatchObject({
      action: 'fleet.reconfigure',
      detail: { runId: body.runId, changed: ['repos'], from: 'workspace_bootstrap' },
    });
  });

  it('discord: null removes Discord and its bot secrets, and re-does agent_config onwards', async () => {
    const t = app();
    const { admin, fleetId } = await activeFleet(t, 'rcf_nodisc');
    const secretNames = async () =>
      (await t.database.db.selectFrom('fleet_secrets').select('name').where('fleet_id', '=', fleetId).execute()).map((s) => s.name);
    expect(await secretNames()).toContain('discord_bot_token:cantona');
    const res = await patch(t, admin, { discord: null });
    expect(res.status).toBe(202);
    const fleet = await t.database.db.selectFrom('fleets').select('settings').where('id', '=', fleetId).executeTakeFirstOrThrow();
    expect(fleet.settings).toEqual({});
    expect(await secretNames()).not.toContain('discord_bot_token:cantona');
    expect(await checkpointSteps(t, fleetId)).toEqual(['vm_create', 'workspace_bootstrap']);
  });

  it('a Mission Control change re-does connectivity_check onwards only', async () => {
    const t = app();
    const { admin, fleetId } = await activeFleet(t, 'rcf_mc');
    const res = await patch(t, admin, { missionControl: { url: 'https://mc.example.com', token: 'mc-token-1' } });
    expect(res.status).toBe(202);
    expect(await checkpointSteps(t, fleetId)).toEqual(['vm_create', 'workspace_bootstrap', 'agent_config', 'gateway_start']);
  });

  it('409 while a run is at work, naming it; a provision with a different body is a 409 too, never a silent drop', async () => {
    const t = app();
    const { admin } = await activeFleet(t, 'rcf_busy');
    const first = (await (await patch(t, admin, { repos: ['acme/web'] })).json()) as { runId: string };
    const second = await patch(t, admin, { repos: ['acme/web'] });
    expect(second.status).toBe(409);
    expect(((await second.json()) as ErrorBody).error.message).toBe(
      `Cannot reconfigure: fleet is provisioning and its provision run ${first.runId} is queued; wait for it to end, or cancel it.`,
    );
    const provision = await t.request('/api/fleet/provision', { method: 'POST', token: admin, json: { repos: ['acme/other'] } });
    expect(provision.status).toBe(409);
    expect(((await provision.json()) as ErrorBody).error.message).toContain(`provision run ${first.runId} is queued`);
    const stored = await t.database.db.selectFrom('fleets').select('repos').execute();
    expect(stored.map((f) => f.repos)).toContainEqual(['acme/web']);
  });

  it('409 from pending naming what pending allows; 400 for an empty body, an unchanged one and a bot of no agent', async () => {
    const t = app();
    const { admin: pendingAdmin } = await orgTenantWithFleet(t, 'rcf_pending');
    const pending = await patch(t, pendingAdmin, { repos: ['acme/api'] });
    expect(pending.status).toBe(409);
    expect(((await pending.json()) as ErrorBody).error.message).toBe(
      'Cannot reconfigure: fleet is pending; allowed: provision, deprovision.',
    );

    const { admin } = await activeFleet(t, 'rcf_bad');
    const empty = await patch(t, admin, {});
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorBody).error.message).toMatch(/give at least one setting to change/);
    const same = await patch(t, admin, { repos: ['acme/api'], discord: discord() });
    expect(same.status).toBe(400);
    expect(((await same.json()) as ErrorBody).error.message).toBe('Nothing to reconfigure: the request matches the fleet’s settings.');
    const nobody = await patch(t, admin, { discord: { ...discord(), bots: [{ agent: 'nobody', token: 'x-token' }] } });
    expect(nobody.status).toBe(400);
    expect(((await nobody.json()) as ErrorBody).error.message).toMatch(
      /^discord\.bots: 'nobody' is not an agent of template solo-engineer/,
    );
    // A template whose agents lack the stored bot's: the stored Discord no longer fits.
    const template = await patch(t, admin, { templateId: 'standard-7-agent', discord: null });
    expect(template.status).toBe(202);
    const extra = await patch(t, admin, { bogus: true });
    expect(extra.status).toBe(400);
  });

  it('404 without a fleet; the platform twin reconfigures a tenant by its id', async () => {
    const t = app();
    const none = await patch(t, t.token({ userId: 'user_rcf_none' }), { repos: ['acme/api'] });
    expect(none.status).toBe(404);
    expect(((await none.json()) as ErrorBody).error.message).toBe('There is no fleet to reconfigure: provision one first.');
    const { fleetId } = await activeFleet(t, 'rcf_plat');
    const res = await t.request('/api/tenants/rcf_plat/fleet', { method: 'PATCH', platform: true, json: { repos: ['acme/web'] } });
    expect(res.status).toBe(202);
    expect(await checkpointSteps(t, fleetId)).toEqual(['vm_create']);
    const audit = await t.database.db.selectFrom('audit_log').select(['action', 'actor']).where('tenant_slug', '=', 'rcf_plat').execute();
    expect(audit.at(-1)).toEqual({ action: 'fleet.reconfigure', actor: 'platform' });
  });
});

describeSessionRouteSecurity({ method: 'PATCH', path: '/api/fleet', json: { repos: ['acme/api'] } }, app, {
  otherTenant: async (t) => {
    await activeFleet(t, 'rcf_victim');
    const before = await platformView(t, 'rcf_victim');
    const res = await t.request('/api/fleet?tenantId=rcf_victim', {
      method: 'PATCH',
      token: t.token({ userId: 'user_stranger', orgId: 'org_stranger_rcf', orgRole: 'admin' }),
      json: { repos: ['evil/repo'] },
    });
    expect(res.status).toBe(404);
    expect(await platformView(t, 'rcf_victim')).toEqual(before);
  },
  forbidden: async (t) => {
    const { orgId } = await activeFleet(t, 'rcf_members');
    const res = await patch(t, t.token({ userId: 'user_m', orgId, orgRole: 'member' }), { repos: ['acme/web'] });
    expect(res.status).toBe(403);
  },
});
describePlatformRouteSecurity({ method: 'PATCH', path: '/api/tenants/rcf_any/fleet', json: { repos: ['acme/api'] } }, app);
