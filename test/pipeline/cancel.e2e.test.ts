import { describe, expect, it } from 'vitest';
import { useStandinApp } from '../harness/standin-app.ts';
import { completeCounts, type FleetBody, waitFor, waitForFleet } from '../harness/wait.ts';

/**
 * Cancelling a provisioning that is at work: the running step is aborted through its signal (here
 * a step that hangs and ignores it), the fleet ends in `error` saying who cancelled, and a retry
 * resumes at that step without redoing the completed ones.
 */
const app = useStandinApp({ workers: { concurrency: 1 }, env: { FLEET_HEARTBEAT_SECONDS: '0.3' } });
const STEPS = ['vm_create', 'workspace_bootstrap', 'agent_config', 'gateway_start', 'connectivity_check', 'complete'];

describe('POST /api/fleet/cancel on a running provisioning', () => {
  it('stops it at the running step, within seconds; retry resumes there and reaches active', async () => {
    const t = app();
    const token = t.token({ userId: 'user_cancel', orgId: 'org_cancel', orgRole: 'admin' });
    t.settings.faults.set('agent_config', 'hang');
    try {
      expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(202);
      let fleet: FleetBody | undefined;
      await waitFor(
        async () => {
          fleet = await waitForFleet(t, token, ['provisioning']);
          return fleet.provisionLog.some((e) => e.step === 'agent_config' && e.status === 'running');
        },
        20_000,
        'agent_config to start',
      );
      const asked = Date.now();
      const res = await t.request('/api/fleet/cancel', { method: 'POST', token });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ ok: true, stopped: 'at-next-safe-point', runId: expect.stringMatching(/^run_/) });
      const failed = await waitForFleet(t, token, ['error'], 15_000);
      // A heartbeat (0.3 s) to hear it, the abort grace for a step that ignores its signal (2 s).
      expect(Date.now() - asked).toBeLessThan(6000);
      const entry = failed.provisionLog.find((e) => e.status === 'error')!;
      expect(entry).toMatchObject({
        step: 'agent_config',
        message: expect.stringMatching(/^Cancelled by user:user_cancel during agent_config\./),
      });
      const runs = await t.database.db.selectFrom('provision_runs').select(['status', 'cancel_requested_by']).execute();
      expect(runs).toEqual([{ status: 'cancelled', cancel_requested_by: 'user:user_cancel' }]);
      const again = await t.request('/api/fleet/cancel', { method: 'POST', token });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { error: { message: string } }).error.message).toBe(
        'Cannot cancel: fleet is in error; allowed: retry, provision, reconfigure, reprovision, deprovision.',
      );
    } finally {
      t.settings.faults.clear();
    }
    expect((await t.request('/api/fleet/retry', { method: 'POST', token })).status).toBe(202);
    const healed = await waitForFleet(t, token, ['active', 'error']);
    expect(healed.status).toBe('active');
    expect(completeCounts(healed)).toEqual(Object.fromEntries(STEPS.map((s) => [s, 1])));
  });
});
