import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'svix';
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../../../test/harness/app.ts';
import { localMachine, provisionToActive, slugOfUser, waitForNoFleet } from '../../../test/harness/lifecycle.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import type { ErrorBody } from '../../../test/harness/tenant-fixtures.ts';
import { tenantStates } from '../../../test/security/tenant-state.ts';

/**
 * POST /api/webhooks/clerk with deliveries signed by the `svix` library, as Clerk signs them:
 * a deleted organisation or user deprovisions its tenant (run to the end by the workers here),
 * a bad signature, a stale timestamp and a replayed svix-id change nothing.
 */
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const app = useStandinApp({
  workers: { concurrency: 2 },
  env: { CLERK_WEBHOOK_SIGNING_SECRET: SECRET, FLEET_HEARTBEAT_SECONDS: '0.3' },
});
// A server without the secret, whose webhook limit is two a minute.
const unconfigured = useStandinApp({ env: { FLEET_WEBHOOK_RATE_LIMIT_PER_MINUTE: '2' } });

type Handled = { ok: true; outcome: string; runId: string | null; reason: string | null };

/** A delivery as Clerk sends it: JSON body, svix headers signed with `secret` at `at`. */
function delivery(event: { type: string; data: Record<string, unknown> }, opts: { id?: string; at?: Date; secret?: string } = {}) {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const at = opts.at ?? new Date();
  const body = JSON.stringify({ object: 'event', timestamp: at.getTime(), instance_id: 'ins_test', ...event });
  const signature = new Webhook(opts.secret ?? SECRET).sign(id, at, body);
  const headers = {
    'content-type': 'application/json',
    'svix-id': id,
    'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
    'svix-signature': signature,
  };
  return { id, body, headers };
}

const send = (t: TestApp, d: { body: string; headers: Record<string, string> }) =>
  t.request('/api/webhooks/clerk', { method: 'POST', headers: d.headers, body: d.body });

const orgDeleted = (orgId: string) => ({ type: 'organization.deleted', data: { id: orgId, object: 'organization', deleted: true } });

describe('POST /api/webhooks/clerk', () => {
  it('organization.deleted deprovisions the tenant and removes it, audited as webhook; its audit is kept', async () => {
    const t = app();
    const token = t.token({ userId: 'user_wh', orgId: 'org_whgone', orgRole: 'admin' });
    await provisionToActive(t, token);
    const slug = await slugOfUser(t, { orgId: 'org_whgone' });
    const machine = localMachine(t, slug);
    expect(machine.exists()).toBe(true);

    const res = await send(t, delivery(orgDeleted('org_whgone')));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Handled;
    expect(body).toMatchObject({ ok: true, outcome: 'deprovisioning', runId: expect.stringMatching(/^run_/) });
    await waitForNoFleet(t, token);
    expect(machine.exists()).toBe(false);
    expect((await t.request(`/api/tenants/${slug}`, { platform: true })).status).toBe(404);
    const audit = (await (await t.request(`/api/tenants/${slug}/audit`, { platform: true })).json()) as {
      entries: Array<{ actor: string; action: string }>;
    };
    expect(audit.entries.map((e) => [e.actor, e.action])).toEqual(
      expect.arrayContaining([
        ['webhook', 'fleet.deprovision'],
        ['webhook', 'fleet.deprovisioned'],
      ]),
    );
  });

  it('user.deleted deprovisions that user’s personal tenant; other events and unknown owners need nothing (200)', async () => {
    const t = app();
    const token = t.token({ userId: 'user_whpersonal' });
    expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 50));
    const membership = await send(
      t,
      delivery({ type: 'organizationMembership.deleted', data: { id: 'orgmem_1', object: 'organization_membership' } }),
    );
    expect(await membership.json()).toMatchObject({ outcome: 'ignored', reason: 'organizationMembership.deleted needs nothing' });
    const stranger = await send(t, delivery(orgDeleted('org_nobody_here')));
    expect(await stranger.json()).toMatchObject({ outcome: 'ignored', reason: 'no tenant belongs to org_nobody_here' });

    // Provisioning meanwhile: the webhook stops it, then (at once, or at Clerk's next attempt) deprovisions.
    const event = { type: 'user.deleted', data: { id: 'user_whpersonal', object: 'user', deleted: true } };
    let res = await send(t, delivery(event, { id: 'msg_user_deleted' }));
    for (let i = 0; res.status === 409 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await send(t, delivery(event, { id: 'msg_user_deleted' }));
    }
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ outcome: 'deprovisioning' });
    await waitForNoFleet(t, token);
  });

  it('a bad signature, a wrong secret, missing headers or a timestamp over 5 minutes old: 400, nothing changed', async () => {
    const t = app();
    await t.createTenant({ tenantId: 'wh_victim', name: 'Victim', clerkOrgId: 'org_whvictim' });
    const before = await tenantStates(t.database.db);
    const good = delivery(orgDeleted('org_whvictim'));
    const cases = {
      tampered: { ...good, body: good.body.replace('org_whvictim', 'org_whvictim ') },
      'wrong secret': delivery(orgDeleted('org_whvictim'), { secret: `whsec_${randomBytes(24).toString('base64')}` }),
      stale: delivery(orgDeleted('org_whvictim'), { at: new Date(Date.now() - 6 * 60_000) }),
      unsigned: { body: good.body, headers: { 'content-type': 'application/json' } },
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await send(t, d);
      expect(res.status, name).toBe(400);
      const error = ((await res.json()) as ErrorBody).error;
      expect(error.code, name).toBe('invalid_input');
      expect(error.message, name).toMatch(/^Webhook refused: .+ Nothing was changed\.$/);
      if (name === 'stale') expect(error.message).toMatch(/timestamp too old/);
    }
    expect(await tenantStates(t.database.db)).toEqual(before);
    const stored = await t.database.db.selectFrom('clerk_webhook_deliveries').select('svix_id').execute();
    expect(stored.map((r) => r.svix_id)).not.toContain(good.id);
  });

  it('a replayed svix-id is acknowledged (200) and ignored, even freshly signed', async () => {
    const t = app();
    const ignored = delivery({ type: 'session.created', data: { id: 'sess_1' } }, { id: 'msg_replay_me' });
    expect(await (await send(t, ignored)).json()).toMatchObject({ outcome: 'ignored' });
    // The same id again, now naming a tenant that exists: a replay must not act.
    await t.createTenant({ tenantId: 'wh_replay', name: 'Replay', clerkOrgId: 'org_whreplay' });
    const before = await tenantStates(t.database.db);
    const replay = await send(t, delivery(orgDeleted('org_whreplay'), { id: 'msg_replay_me' }));
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ ok: true, outcome: 'replayed', runId: null, reason: null });
    expect(await tenantStates(t.database.db)).toEqual(before);
  });

  it('413 for a body over FLEET_MAX_BODY_BYTES, before any verification', async () => {
    const t = app();
    const big = delivery({ type: 'user.deleted', data: { id: 'user_x', pad: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await send(t, big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large');
  });
});

describe('POST /api/webhooks/clerk without CLERK_WEBHOOK_SIGNING_SECRET', () => {
  it('404 saying what to set; past FLEET_WEBHOOK_RATE_LIMIT_PER_MINUTE a 429', async () => {
    const t = unconfigured();
    const res = await send(t, delivery(orgDeleted('org_any')));
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('set CLERK_WEBHOOK_SIGNING_SECRET'),
    });
    expect((await send(t, delivery(orgDeleted('org_any')))).status).toBe(404);
    const limited = await send(t, delivery(orgDeleted('org_any')));
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as ErrorBody).error.message).toMatch(/The Clerk webhook may send at most 2 requests a minute/);
  });
});
