import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { type GcpWorld, startGcpWorld } from '../harness/gcp-vm.ts';
import { provisionToActive, slugOfUser, waitForNoFleet } from '../harness/lifecycle.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { waitForFleet } from '../harness/wait.ts';

/**
 * Suspend, resume and deprovision on the GCP driver, through the same ComputeDriver seam as on the
 * local one: the Compute Engine stand-in stops, starts and deletes the VM (a real sshd on loopback
 * plays it), and the deprovision's proof is the API's 404 for the VM.
 */
let world: GcpWorld;
let t: TestApp;
let slug: string | undefined;

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  world = await startGcpWorld({ changingIps: true });
  t = await createTestApp({ workers: { concurrency: 1 }, drivers: { gcp: world.driver }, computeDriver: 'gcp' });
}, 120_000);

afterAll(async () => {
  if (slug) await world.removeFleet(t.database.db, t.box, slug).catch(() => undefined);
  await t?.close();
  await world?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

describe('the lifecycle of a fleet on the GCP driver', () => {
  it('suspend stops the VM, resume starts it, deprovision deletes it with a 404 as proof', { timeout: 120_000 }, async () => {
    const { gce } = world;
    const token = t.token({ userId: 'user_gcl', orgId: 'org_gcl', orgRole: 'admin' });
    const fleet = await provisionToActive(t, token, 90_000);
    slug = await slugOfUser(t, { orgId: 'org_gcl' });
    const vmName = fleet.gcpResources!.vmName;
    const vm = () => gce.instances().find((i) => i.name === vmName);
    expect(vm()?.status).toBe('RUNNING');

    expect((await t.request('/api/fleet/suspend', { method: 'POST', token })).status).toBe(202);
    const suspended = await waitForFleet(t, token, ['suspended', 'error'], 60_000);
    expect(suspended.status, JSON.stringify(suspended.provisionLog, null, 1)).toBe('suspended');
    expect(vm()?.status).toBe('TERMINATED');
    const stops = gce.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/instances/${vmName}/stop`));
    expect(stops).toHaveLength(1);

    expect((await t.request('/api/fleet/resume', { method: 'POST', token })).status).toBe(202);
    const resumed = await waitForFleet(t, token, ['active', 'error'], 60_000);
    expect(resumed.status, JSON.stringify(resumed.provisionLog, null, 1)).toBe('active');
    expect(vm()?.status).toBe('RUNNING');
    // The VM came back with another ephemeral IP: the machine and the Control UI's URL follow it.
    expect(resumed.gcpResources!.ip).not.toBe(fleet.gcpResources!.ip);
    expect(resumed.gcpResources!.ip).toBe(vm()?.natIP);
    expect(resumed.dashboardUrl).toBe(`http://${resumed.gcpResources!.ip}:${new URL(fleet.dashboardUrl!).port}/`);

    const root = path.join(world.sshd.user.home, 'fleets', slug);
    expect(fs.existsSync(root)).toBe(true);
    expect((await t.request('/api/fleet', { method: 'DELETE', token })).status).toBe(202);
    await waitForNoFleet(t, token, 60_000);
    expect(vm()).toBeUndefined();
    expect(gce.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith(`/instances/${vmName}`)).length).toBeGreaterThanOrEqual(1);
    const audit = (await (await t.request('/api/fleet/audit', { token })).json()) as {
      entries: Array<{ action: string; detail: { proof?: Array<{ resource: string; verifiedBy: string }> } }>;
    };
    const proof = audit.entries.find((e) => e.action === 'fleet.deprovisioned')?.detail.proof;
    expect(proof).toEqual(
      expect.arrayContaining([
        { resource: `VM ${vmName} in ${fleet.gcpResources!.zone} (with its boot disk)`, verifiedBy: 'instances.get answered 404 notFound' },
        { resource: 'fleet secrets', verifiedBy: 'zero rows in fleet_secrets' },
      ]),
    );
  });
});
