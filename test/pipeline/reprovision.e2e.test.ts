import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_SERVICE } from '../../src/gateway/service.ts';
import { isHealthy } from '../../src/gateway/process.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { gatewayPortOf, localMachine, provisionToActive, slugOfUser } from '../harness/lifecycle.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import type { ErrorBody } from '../harness/tenant-fixtures.ts';
import { type FleetBody, waitForFleet } from '../harness/wait.ts';

/**
 * Reprovision end to end through HTTP on the local driver (stand-in gateway): one run tears the
 * machine down with a proof and builds it again from the stored settings; the fleet and its
 * secrets stay, and later runs reach the new machine.
 */
const app = useStandinApp({ workers: { concurrency: 2 }, env: { FLEET_HEARTBEAT_SECONDS: '0.3' } });
const post = (token: string, p: string, json?: unknown) => app().request(p, { method: 'POST', token, json });
type Entry = FleetBody['provisionLog'][number] & { runId: string | null };

describe('POST /api/fleet/reprovision', () => {
  it('wants the tenantId typed out; then one run deletes the machine, proves it, and builds it again', async () => {
    const t = app();
    const token = t.token({ userId: 'user_rp', orgId: 'org_rp', orgRole: 'admin' });
    const built = await provisionToActive(t, token);
    const slug = await slugOfUser(t, { orgId: 'org_rp' });
    const machine = localMachine(t, slug);
    const host = new LocalHost(machine.root);
    const firstPid = (await host.serviceStatus(GATEWAY_SERVICE)).pid;
    // Something only the old machine has: gone after the rebuild.
    fs.writeFileSync(path.join(machine.root, 'workspaces/cantona/left-by-the-old-machine.txt'), 'x');
    const secretsBefore = await t.database.db.selectFrom('fleet_secrets').select(['name', 'ciphertext']).orderBy('name').execute();

    for (const [json, why] of [
      [undefined, 'is required'],
      [{ confirm: 'someone_else' }, 'does not match'],
    ] as const) {
      const refused = await post(token, '/api/fleet/reprovision', json);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as ErrorBody).error.message).toBe(
        `confirm: ${why}; reprovisioning deletes the fleet's machine, so send {"confirm": "${slug}"} (the fleet's tenantId) to go ahead.`,
      );
    }
    expect(fs.existsSync(path.join(machine.root, 'workspaces/cantona/left-by-the-old-machine.txt'))).toBe(true);

    const res = await post(token, '/api/fleet/reprovision', { confirm: slug });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { runId: string; kind: string; started: boolean; fleet: { status: string } };
    expect(accepted).toMatchObject({ kind: 'reprovision', started: true, fleet: { status: 'provisioning' } });
    // While it runs, the other verbs say what is allowed.
    const busy = await post(token, '/api/fleet/suspend');
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as ErrorBody).error.message).toMatch(
      new RegExp(`its reprovision run ${accepted.runId} is (queued|running)`),
    );

    const rebuilt = await waitForFleet(t, token, ['active', 'error']);
    expect(rebuilt.status, JSON.stringify(rebuilt.provisionLog, null, 1)).toBe('active');
    const run = (rebuilt.provisionLog as Entry[]).filter((e) => e.runId === accepted.runId && e.status === 'complete');
    expect(run.map((e) => e.step)).toEqual([
      'deprovision_plan',
      'gateway_stop',
      'machine_delete',
      'deprovision_proof',
      'vm_create',
      'workspace_bootstrap',
      'agent_config',
      'gateway_start',
      'connectivity_check',
      'complete',
    ]);
    expect(run[0]!.message).toMatch(/then build it again from the stored settings\. Kept: the fleet, its settings and secrets/);
    expect(run[3]!.message).toMatch(/^Machine deleted\. Verified absent: .*directory.*Building it again\.$/);
    expect(fs.existsSync(path.join(machine.root, 'workspaces/cantona/left-by-the-old-machine.txt'))).toBe(false);
    const { pid, running } = await host.serviceStatus(GATEWAY_SERVICE);
    expect(running).toBe(true);
    expect(pid).not.toBe(firstPid);
    expect(await isHealthy(host, gatewayPortOf(rebuilt))).toBe(true);
    expect(rebuilt.agentSpecs).toEqual(built.agentSpecs);
    // The fleet kept its secrets (same gateway token, same ciphertexts): nothing was destroyed but the machine.
    expect(await t.database.db.selectFrom('fleet_secrets').select(['name', 'ciphertext']).orderBy('name').execute()).toEqual(secretsBefore);
    // The rebuild's checkpoints are the fleet's build now, at the provision positions.
    const checkpoints = await t.database.db
      .selectFrom('step_checkpoints')
      .select(['kind', 'step', 'position'])
      .orderBy('position')
      .execute();
    expect(checkpoints.filter((c) => c.kind !== 'provision')).toEqual([]);
    expect(checkpoints.map((c) => [c.step, c.position])).toEqual([
      ['vm_create', 0],
      ['workspace_bootstrap', 1],
      ['agent_config', 2],
      ['gateway_start', 3],
      ['connectivity_check', 4],
      ['complete', 5],
    ]);
    const audit = await t.database.db.selectFrom('audit_log').select(['action', 'actor']).where('tenant_slug', '=', slug).execute();
    expect(audit.map((a) => a.action)).toContain('fleet.reprovision');

    // Later runs work on the new machine.
    expect((await post(token, '/api/fleet/suspend')).status).toBe(202);
    const suspended = await waitForFleet(t, token, ['suspended', 'error']);
    expect(suspended.status, JSON.stringify(suspended.provisionLog.slice(-4), null, 1)).toBe('suspended');
    expect((await host.serviceStatus(GATEWAY_SERVICE)).running).toBe(false);
  });

  it('409 from pending and from suspended, naming what they allow; the platform twin needs the confirm too', async () => {
    const t = app();
    expect((await t.createTenant({ tenantId: 'rp_pending', name: 'P', clerkOrgId: 'org_rppending' })).status).toBe(201);
    const token = t.token({ userId: 'user_rpp', orgId: 'org_rppending', orgRole: 'admin' });
    const pending = await post(token, '/api/fleet/reprovision', { confirm: 'rp_pending' });
    expect(pending.status).toBe(409);
    expect(((await pending.json()) as ErrorBody).error.message).toBe(
      'Cannot reprovision: fleet is pending; allowed: provision, deprovision.',
    );
    await t.database.db
      .updateTable('fleets')
      .set({ status: 'suspended' })
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'rp_pending'))
      .execute();
    const platform = await t.request('/api/tenants/rp_pending/reprovision', {
      method: 'POST',
      platform: true,
      json: { confirm: 'rp_pending' },
    });
    expect(platform.status).toBe(409);
    expect(((await platform.json()) as ErrorBody).error.message).toBe(
      'Cannot reprovision: fleet is suspended; allowed: resume, deprovision.',
    );
    const unconfirmed = await t.request('/api/tenants/rp_pending/reprovision', { method: 'POST', platform: true, json: {} });
    expect(unconfirmed.status).toBe(400);
  });
});
