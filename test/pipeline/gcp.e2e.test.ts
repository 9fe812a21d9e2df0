import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcpDriver } from '../../src/compute/gcp-driver.ts';
import { GcpCompute } from '../../src/compute/gcp.ts';
import { GATEWAY_SERVICE } from '../../src/gateway/service.ts';
import { type Sshd, startSshd } from '../hosts/sshd.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { completeCounts, waitForFleet } from '../harness/wait.ts';
import { freePort } from '../gateway/helpers.ts';
import { type GceStandin, startGceStandin } from '../standins/gce-server.ts';

/**
 * The whole pipeline through HTTP on the GCP driver: the Compute Engine stand-in makes the VM and,
 * on insert, installs its ssh-keys key into a real sshd on loopback that plays the VM; every
 * later step runs over SSH with the same step code as on the local driver (the stand-in gateway).
 */
let sshd: Sshd;
let gce: GceStandin;
let t: TestApp;
let compute: GcpCompute;
/** Tenant slugs whose machines this file made on the test user's home. */
const made: string[] = [];

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  sshd = await startSshd();
  gce = await startGceStandin({ project: 'acme-fleets', natIpFor: () => '127.0.0.1' });
  gce.onInsert((vm) => {
    const keys = vm.metadata.find((m) => m.key === 'ssh-keys')?.value ?? '';
    sshd.addAuthorizedKey(keys.slice(keys.indexOf(':') + 1));
  });
  compute = new GcpCompute({
    project: 'acme-fleets',
    zones: ['europe-west2-b', 'europe-west2-c'],
    machineType: 'e2-standard-2',
    image: 'projects/debian-cloud/global/images/family/debian-12',
    network: 'global/networks/default',
    apiEndpoint: gce.origin,
    authClient: gce.authClient(),
    sshUser: sshd.user.name,
    pollIntervalMs: 10,
  });
  const driver = new GcpDriver(compute, {
    sshUser: sshd.user.name,
    sshPort: sshd.port,
    gatewayPort: await freePort(),
    sshAddress: sshd.host,
  });
  t = await createTestApp({ workers: { concurrency: 1 }, drivers: { gcp: driver }, computeDriver: 'gcp' });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await compute?.close();
  await gce?.close();
  if (sshd) {
    // What this file's run left on the "VM" (the test user's home, shared with the host tests that
    // run alongside): its fleet and that fleet's service records, nothing else.
    const home = sshd.user.home;
    for (const slug of made) {
      fs.rmSync(path.join(home, 'fleets', slug), { recursive: true, force: true });
      const records = path.join(home, '.fleet-services');
      for (const dir of fs.existsSync(records) ? fs.readdirSync(records) : []) {
        if (dir.startsWith(`${slug}-`)) fs.rmSync(path.join(records, dir), { recursive: true, force: true });
      }
    }
  }
  await sshd?.stop();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

describe('a fleet on the GCP driver', () => {
  it('is provisioned on its VM over SSH to active, with the VM in gcpResources and its host key pinned', async () => {
    gce.setZone('europe-west2-b', 'stockout');
    const token = t.token({ userId: 'user_cloud', orgId: 'org_cloud', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer', repos: [] } });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(t, token, ['active', 'error'], 90_000);
    expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
    expect(completeCounts(fleet)).toEqual(Object.fromEntries(Object.keys(completeCounts(fleet)).map((s) => [s, 1])));
    expect(Object.keys(completeCounts(fleet))).toHaveLength(6);
    // The stockout in the first zone is said in the log, and the VM is in the second one.
    expect(fleet.provisionLog.map((e) => e.message).join('\n')).toContain(
      'zone europe-west2-b has no e2-standard-2 capacity; trying europe-west2-c',
    );
    expect(fleet.gcpResources).toMatchObject({ zone: 'europe-west2-c', ip: '127.0.0.1', vmName: expect.stringMatching(/^fleet-/) });
    expect(gce.instances()).toHaveLength(1);

    const row = await t.database.db.selectFrom('fleets').select(['compute_driver', 'ssh_host_key']).executeTakeFirstOrThrow();
    expect(row.compute_driver).toBe('gcp');
    expect(row.ssh_host_key).toBe(sshd.hostFingerprint());

    // The machine really was built on the "VM", under the SSH user's home, by that user.
    const { slug } = await t.database.db.selectFrom('tenants').select('slug').executeTakeFirstOrThrow();
    made.push(slug);
    const root = path.join(sshd.user.home, 'fleets', slug);
    expect(fs.statSync(path.join(root, 'openclaw/openclaw.json')).uid).toBe(sshd.user.uid);
    expect(fs.readFileSync(path.join(root, 'workspaces/cantona/AGENTS.md'), 'utf8')).toContain('Cantona');

    // Clean up the gateway the run left running on the VM.
    const driver = t.settings.drivers.gcp!;
    const machine = {
      ...(await t.database.db.selectFrom('step_checkpoints').select('output').where('step', '=', 'vm_create').executeTakeFirstOrThrow())
        .output,
    } as never;
    const fleetRow = await t.database.db.selectFrom('fleets').selectAll().executeTakeFirstOrThrow();
    const host = await driver.openHost(machine, {
      sshPrivateKey: async () =>
        (await import('../../src/db/secrets.ts').then((m) => m.getSecrets(t.database.db, t.box, fleetRow.id))).ssh_private_key!,
      pinnedHostKey: async () => row.ssh_host_key ?? undefined,
      pinHostKey: async () => {},
    });
    expect((await host.serviceStatus(GATEWAY_SERVICE)).running).toBe(true);
    await host.stopService(GATEWAY_SERVICE, { graceMs: 2000 });
    await host.close();
  }, 120_000);
});
