import { describe, expect, it } from 'vitest';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { type ErrorBody, orgTenantWithFleet, platformView } from '../../../test/harness/tenant-fixtures.ts';
import type { FleetBody } from '../../../test/harness/wait.ts';

/**
 * POST /api/fleet/cancel at the HTTP edge (no workers: a run stays queued and is cancelled at
 * once); a running one is cancelled in test/pipeline/cancel.e2e.test.ts.
 */
const app = useStandinApp({});

describe('POST /api/fleet/cancel', () => {
  it('cancels a queued provisioning at once: error, "Cancelled by …" in the log; retry starts it again', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'can_queued');
    const started = (await (await t.request('/api/fleet/provision', { method: 'POST', token: admin, json: {} })).json()) as {
      runId: string;
    };
    const res = await t.request('/api/fleet/cancel', { method: 'POST', token: admin });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string; stopped: string; fleet: FleetBody };
    expect(body).toMatchObject({ ok: true, runId: started.runId, stopped: 'at-once', fleet: { status: 'error' } });
    expect(body.fleet.provisionLog.at(-1)).toMatchObject({
      step: 'vm_create',
      status: 'error',
      message: 'Cancelled by user:user_canqueued before it started. Nothing ran; retry the fleet to start it again, or deprovision it.',
    });
    const run = await t.database.db.selectFrom('provision_runs').select('status').where('id', '=', started.runId).executeTakeFirstOrThrow();
    expect(run.status).toBe('cancelled');
    const retry = await t.request('/api/fleet/retry', { method: 'POST', token: admin });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ fleet: { status: 'provisioning' } });
  });

  it('cancels a queued reprovision the same way (the fleet shows provisioning); retry starts the reprovision again', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'can_reprov', 'active');
    const started = await t.request('/api/fleet/reprovision', { method: 'POST', token: admin, json: { confirm: 'can_reprov' } });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const res = await t.request('/api/fleet/cancel', { method: 'POST', token: admin });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string; stopped: string; fleet: FleetBody };
    expect(body).toMatchObject({ runId, stopped: 'at-once', fleet: { status: 'error' } });
    // Its first step, a teardown one: the log says where nothing ran.
    expect(body.fleet.provisionLog.at(-1)).toMatchObject({
      step: 'deprovision_plan',
      status: 'error',
      message: expect.stringMatching(/^Cancelled by /),
    });
    const retry = await t.request('/api/fleet/retry', { method: 'POST', token: admin });
    expect(retry.status).toBe(202);
    const again = (await retry.json()) as { runId: string };
    const run = await t.database.db.selectFrom('provision_runs').select('kind').where('id', '=', again.runId).executeTakeFirstOrThrow();
    expect(run.kind).toBe('reprovision');
  });

  it('409 when nothing is provisioning, naming the status and what it allows', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'can_active', 'active');
    const res = await t.request('/api/fleet/cancel', { method: 'POST', token: admin });
    expect(res.status).toBe(409);
    expect(((await res.json()) as ErrorBody).error.message).toBe(
      'Cannot cancel: fleet is active; allowed: suspend, reconfigure, reprovision, deprovision.',
    );
  });
});

describeSessionRouteSecurity({ method: 'POST', path: '/api/fleet/cancel' }, app, {
  otherTenant: async (t) => {
    await orgTenantWithFleet(t, 'can_victim');
    expect((await t.request('/api/tenants/can_victim/provision', { method: 'POST', platform: true, json: {} })).status).toBe(202);
    const before = await platformView(t, 'can_victim');
    const res = await t.request('/api/fleet/cancel?tenantId=can_victim', {
      method: 'POST',
      token: t.token({ userId: 'user_z', orgId: 'org_can_stranger', orgRole: 'admin' }),
    });
    expect(res.status).toBe(404);
    expect(await platformView(t, 'can_victim')).toEqual(before);
  },
  forbidden: async (t) => {
    const { orgId } = await orgTenantWithFleet(t, 'can_members');
    expect((await t.request('/api/tenants/can_members/provision', { method: 'POST', platform: true, json: {} })).status).toBe(202);
    const res = await t.request('/api/fleet/cancel', { method: 'POST', token: t.token({ userId: 'user_m', orgId, orgRole: 'member' }) });
    expect(res.status).toBe(403);
  },
});
