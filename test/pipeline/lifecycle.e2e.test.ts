import { describe, expect, it } from 'vitest';
import { isHealthy } from '../../src/gateway/process.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { reconcileOnce } from '../../src/pipeline/reconciler.ts';
import { gatewayPortOf, localMachine, portOpen, provisionToActive, slugOfUser, waitForNoFleet } from '../harness/lifecycle.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { type FleetBody, waitFor, waitForFleet } from '../harness/wait.ts';

/**
 * The fleet lifecycle end to end through HTTP on the local driver (stand-in gateway): suspend and
 * resume, the platform's suspension, deprovision with its proof, and "stopped means stopped".
 */
const app = useStandinApp({ workers: { concurrency: 2 }, env: { FLEET_HEARTBEAT_SECONDS: '0.3' } });
type ErrorBody = { error: { code: string; message: string } };
const post = (token: string, path: string, json?: unknown) => app().request(path, { method: 'POST', token, json });
const lastEntry = (fleet: FleetBody) => fleet.provisionLog[fleet.provisionLog.length - 1]!;

describe('suspend and resume (tenant)', () => {
  it('stops the gateway and keeps the data; resume starts it again and the fleet is active', async () => {
    const t = app();
    const token = t.token({ userId: 'user_sr', orgId: 'org_sr', orgRole: 'admin' });
    const fleet = await provisionToActive(t, token);
    const port = gatewayPortOf(fleet);
    const machine = localMachine(t, await slugOfUser(t, { orgId: 'org_sr' }));
    const host = new LocalHost(machine.root);

    const res = await post(token, '/api/fleet/suspend', { reason: 'going on holiday' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ ok: true, kind: 'suspend', started: true, runId: expect.stringMatching(/^run_/) });
    const suspended = await waitForFleet(t, token, ['suspended', 'error']);
    expect(suspended.status, JSON.stringify(suspended.provisionLog, null, 1)).toBe('suspended');
    expect(await isHealthy(host, port)).toBe(false);
    expect(await portOpen(port)).toBe(false);
    expect(machine.exists()).toBe(true); // data kept
    expect(lastEntry(suspended)).toMatchObject({
      step: 'fleet_suspended',
      status: 'complete',
      message: expect.stringContaining('Fleet suspended by user:user_sr (going on holiday)'),
    });

    // While suspended, only resume and deprovision.
    for (const [path, verb] of [
      ['/api/fleet/suspend', 'suspend'],
      ['/api/fleet/retry', 'retry'],
      ['/api/fleet/provision', 'provision'],
      ['/api/fleet/cancel', 'cancel'],
    ] as const) {
      const refused = await post(token, path);
      expect(refused.status, path).toBe(409);
      expect(((await refused.json()) as ErrorBody).error.message).toBe(`Cannot ${verb}: fleet is suspended; allowed: resume, deprovision.`);
    }

    const resumed = await post(token, '/api/fleet/resume');
    expect(resumed.status).toBe(202);
    const active = await waitForFleet(t, token, ['active', 'error']);
    expect(active.status, JSON.stringify(active.provisionLog, null, 1)).toBe('active');
    expect(await isHealthy(host, port)).toBe(true);
    expect(
      active.provisionLog
        .filter((e) => e.status === 'complete')
        .map((e) => e.step)
        .slice(-6),
    ).toEqual(['gateway_stop', 'machine_stop', 'fleet_suspended', 'machine_start', 'gateway_restart', 'health_check']);
    const again = await post(token, '/api/fleet/resume');
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorBody).error.message).toBe(
      'Cannot resume: fleet is active; allowed: suspend, reconfigure, reprovision, deprovision.',
    );

    // A second suspension starts from its first step again (checkpoints are per attempt for this kind).
    expect((await post(token, '/api/fleet/suspend')).status).toBe(202);
    expect((await waitForFleet(t, token, ['suspended', 'error'])).status).toBe('suspended');
    expect(await isHealthy(host, port)).toBe(false);
  });
});

describe('a platform suspension', () => {
  it('can only be lifted by the platform: the tenant gets 403, the platform resumes it', async () => {
    const t = app();
    const token = t.token({ userId: 'user_ps', orgId: 'org_ps', orgRole: 'admin' });
    await provisionToActive(t, token);
    const slug = await slugOfUser(t, { orgId: 'org_ps' });
    const res = await t.request(`/api/tenants/${slug}/suspend`, {
      method: 'POST',
      platform: true,
      json: { reason: 'billing: card declined' },
    });
    expect(res.status).toBe(202);
    const suspended = await waitForFleet(t, token, ['suspended', 'error']);
    expect(lastEntry(suspended).message).toContain(
      'Fleet suspended by the platform (billing: card declined); all data kept; the platform can resume it',
    );

    const tenantResume = await post(token, '/api/fleet/resume');
    expect(tenantResume.status).toBe(403);
    expect(((await tenantResume.json()) as ErrorBody).error.message).toBe(
      'This fleet was suspended by the platform (billing: card declined); only the platform can resume it. Contact support.',
    );
    expect((await waitForFleet(t, token, ['suspended'])).status).toBe('suspended');

    expect((await t.request(`/api/tenants/${slug}/resume`, { method: 'POST', platform: true })).status).toBe(202);
    expect((await waitForFleet(t, token, ['active', 'error'])).status).toBe('active');
    // Lifted: the tenant's own suspension and resume work again.
    expect((await post(token, '/api/fleet/suspend')).status).toBe(202);
    expect((await waitForFleet(t, token, ['suspended', 'error'])).status).toBe('suspended');
    expect((await post(token, '/api/fleet/resume')).status).toBe(202);
    expect((await waitForFleet(t, token, ['active', 'error'])).status).toBe('active');
  });
});

describe('stopped means stopped', () => {
  it('the reconciler (which restarts dead gateways, also at serve start) leaves alone an active fleet whose desired state is suspended', async () => {
    const t = app();
    const token = t.token({ userId: 'user_stopped' });
    const fleet = await provisionToActive(t, token);
    const port = gatewayPortOf(fleet);
    const host = new LocalHost(localMachine(t, await slugOfUser(t, { userId: 'user_stopped' })).root);
    // The suspension is recorded and its gateway stopped, but its run has not finished (its
    // machine_stop hangs): the fleet is still `active`, and meant to be suspended.
    t.settings.faults.set('machine_stop', 'hang');
    try {
      expect((await post(token, '/api/fleet/suspend')).status).toBe(202);
      const stopped = await waitForFleet(t, token, ['active']).then(async function poll(f): Promise<FleetBody> {
        if (f.provisionLog.some((e) => e.step === 'machine_stop' && e.status === 'running')) return f;
        await new Promise((r) => setTimeout(r, 100));
        return poll(await waitForFleet(t, token, ['active']));
      });
      expect(stopped.provisionLog.some((e) => e.step === 'gateway_stop' && e.status === 'complete')).toBe(true);
      expect(await isHealthy(host, port)).toBe(false);
      const config = { intervalSeconds: 30, unhealthyChecks: 1, deleteOrphans: false };
      const pass = await reconcileOnce({ db: t.database.db, settings: t.settings, log: createLogger('silent'), config });
      expect(pass).toMatchObject({ restarted: 0, failed: 0 });
      expect(await isHealthy(host, port)).toBe(false);
    } finally {
      t.settings.faults.clear();
    }
  });
});

describe('deprovision (tenant)', () => {
  it('deletes the machine, the gateway and the secrets, with proof; GET /api/fleet is null; the audit keeps it; a new provision starts clean', async () => {
    const t = app();
    const token = t.token({ userId: 'user_dep', orgId: 'org_dep', orgRole: 'admin' });
    const fleet = await provisionToActive(t, token);
    const port = gatewayPortOf(fleet);
    const slug = await slugOfUser(t, { orgId: 'org_dep' });
    const machine = localMachine(t, slug);
    const { id: fleetId, tenant_id: tenantId } = await t.database.db
      .selectFrom('fleets')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select(['fleets.id', 'fleets.tenant_id'])
      .where('tenants.clerk_org_id', '=', 'org_dep')
      .executeTakeFirstOrThrow();
    expect(await portOpen(port)).toBe(true);

    const res = await t.request('/api/fleet', { method: 'DELETE', token });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ ok: true, kind: 'deprovision', started: true });
    await waitForNoFleet(t, token);

    expect(machine.exists()).toBe(false);
    expect(machine.recordsExist()).toBe(false);
    expect(await portOpen(port)).toBe(false);
    const secrets = await t.database.db.selectFrom('fleet_secrets').select('name').where('fleet_id', '=', fleetId).execute();
    expect(secrets).toEqual([]);
    expect(await t.database.db.selectFrom('gateway_ports').selectAll().where('fleet_id', '=', fleetId).execute()).toEqual([]);

    // The proof, on the log stream (events outlive the fleet) and in the audit log.
    const proofEvents = await t.database.db
      .selectFrom('fleet_events')
      .select('data')
      .where('tenant_id', '=', tenantId)
      .where('type', '=', 'log')
      .execute();
    const proof = proofEvents.map((e) => e.data).find((d) => d.step === 'deprovision_proof' && d.status === 'complete');
    expect(proof?.message).toMatch(
      new RegExp(`^Deprovisioned\\. Verified absent: machine directory fleets/${slug} \\(directory absent\\)`),
    );
    expect(proof?.message).toContain(`gateway on port ${port} (port closed: connection refused on 127.0.0.1)`);
    expect(proof?.message).toContain('fleet secrets (zero rows in fleet_secrets)');
    const audit = (await (await t.request('/api/fleet/audit', { token })).json()) as {
      entries: Array<{ action: string; actor: string; detail: { proof?: Array<{ resource: string; verifiedBy: string }> } }>;
    };
    expect(audit.entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(['tenant.create', 'fleet.provision', 'fleet.deprovision', 'fleet.deprovisioned']),
    );
    const deprovisioned = audit.entries.find((e) => e.action === 'fleet.deprovisioned')!;
    expect(deprovisioned.actor).toBe('user:user_dep');
    expect(deprovisioned.detail.proof).toEqual(
      expect.arrayContaining([
        { resource: `machine directory fleets/${slug}`, verifiedBy: 'directory absent' },
        { resource: 'fleet secrets', verifiedBy: 'zero rows in fleet_secrets' },
      ]),
    );

    // A new provision starts clean: a new fleet, every step run again, a working gateway.
    const again = await provisionToActive(t, token);
    expect(again.provisionLog.every((e) => !e.step.startsWith('deprovision'))).toBe(true);
    expect(machine.exists()).toBe(true);
    const newFleet = await t.database.db.selectFrom('fleets').select('id').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    expect(newFleet.id).not.toBe(fleetId);
  });
});

describe('deprovision (platform)', () => {
  it('removes the fleet and the tenant; the tenant audit still answers, with the proof', async () => {
    const t = app();
    const token = t.token({ userId: 'user_pdel' });
    await provisionToActive(t, token);
    const slug = await slugOfUser(t, { userId: 'user_pdel' });
    const machine = localMachine(t, slug);
    const res = await t.request(`/api/tenants/${slug}`, { method: 'DELETE', platform: true });
    expect(res.status).toBe(202);
    await waitFor(async () => (await t.request(`/api/tenants/${slug}`, { platform: true })).status === 404, 30_000, 'the tenant to go');
    expect(machine.exists()).toBe(false);
    expect(await (await t.request('/api/fleet', { token })).json()).toEqual({ ok: true, fleet: null });
    const audit = (await (await t.request(`/api/tenants/${slug}/audit`, { platform: true })).json()) as {
      entries: Array<{ action: string; detail: { tenantRemoved?: boolean; proof?: unknown[] } }>;
    };
    const last = audit.entries[audit.entries.length - 1]!;
    expect(last).toMatchObject({ action: 'fleet.deprovisioned', detail: { tenantRemoved: true } });
    expect(last.detail.proof).toEqual(
      expect.arrayContaining([{ resource: `tenant ${slug}`, verifiedBy: 'deleted with this entry, in one commit' }]),
    );
    expect((await t.request('/api/tenants/never_was/audit', { platform: true })).status).toBe(404);
  });
});
