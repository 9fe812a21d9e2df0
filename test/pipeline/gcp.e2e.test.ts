import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, startRescuer, type TestApp } from '../harness/app.ts';
import { type GcpWorld, startGcpWorld } from '../harness/gcp-vm.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { completeCounts, type FleetBody, waitFor, waitForFleet } from '../harness/wait.ts';

/**
 * The whole pipeline through HTTP on the GCP driver: the Compute Engine stand-in makes the VM and,
 * on insert, installs its ssh-keys key into a real sshd on loopback that plays the VM; every
 * later step runs over SSH with the same step code as on the local driver (the stand-in gateway).
 */
let world: GcpWorld;
const apps: TestApp[] = [];
/** Tenant slugs whose machines this file made on the test user's home, with the app that made them. */
const made: { slug: string; app: TestApp }[] = [];

const slugOf = async (app: TestApp, userId: string) =>
  (await app.database.db.selectFrom('tenants').select('slug').where('clerk_user_id', '=', userId).executeTakeFirstOrThrow()).slug;

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  world = await startGcpWorld();
}, 120_000);

afterAll(async () => {
  for (const { slug, app } of made) await world.removeFleet(app.database.db, app.box, slug).catch(() => undefined);
  for (const app of apps) await app.close();
  await world?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

describe('a fleet on the GCP driver', () => {
  it('is provisioned on its VM over SSH to active, with the VM in gcpResources and its host key pinned', async () => {
    const t = await createTestApp({ workers: { concurrency: 1 }, drivers: { gcp: world.driver }, computeDriver: 'gcp' });
    apps.push(t);
    const { gce, sshd } = world;
    gce.setZone('europe-west2-b', 'stockout');
    const token = t.token({ userId: 'user_cloud', orgId: 'org_cloud', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer', repos: [] } });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(t, token, ['active', 'error'], 90_000);
    const slug = (await t.database.db.selectFrom('tenants').select('slug').executeTakeFirstOrThrow()).slug;
    made.push({ slug, app: t });
    gce.setZone('europe-west2-b', 'available');
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
    const root = path.join(sshd.user.home, 'fleets', slug);
    expect(fs.statSync(path.join(root, 'openclaw/openclaw.json')).uid).toBe(sshd.user.uid);
    // The VM is the fleet's own: its gateway listens beyond loopback, for the Control UI at the VM's IP.
    expect(JSON.parse(fs.readFileSync(path.join(root, 'openclaw/openclaw.json'), 'utf8')).gateway.bind).toBe('lan');
    expect(fs.readFileSync(path.join(root, 'workspaces/cantona/AGENTS.md'), 'utf8')).toContain('Cantona');

    // Every "VM" here is this machine behind one sshd, with one gateway port: stop this fleet's
    // gateway before another test starts one (on real VMs each has its own).
    await world.removeFleet(t.database.db, t.box, slug);
  }, 120_000);
});

describe('a `fleet worker` on FLEET_COMPUTE=gcp killed with SIGKILL in the middle of vm_create', () => {
  it('is resumed by another worker without a second VM, with the same requestId', { timeout: 120_000 }, async () => {
    const { gce } = world;
    // No workers in this process: the child process, configured only by its environment, takes the job.
    const app = await createTestApp({
      drivers: { gcp: world.driver },
      computeDriver: 'gcp',
      env: { FLEET_HEARTBEAT_SECONDS: '0.5', FLEET_STALE_AFTER_SECONDS: '3' },
    });
    apps.push(app);
    const held = gce.holdOperations(); // the insert stays RUNNING while the worker waits for it
    const earlier = gce.requests.length; // the other test's requests are not this one's
    const ours = (pathPart: string) => gce.requests.slice(earlier).filter((r) => r.method === 'POST' && r.path.includes(pathPart));
    const child = spawn(process.execPath, ['bin/fleet.js', 'worker', '--concurrency', '1'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: app.database.url,
        FLEET_DATA_DIR: app.dataDir,
        FLEET_SECRETS_KEY: app.box.keyHex(),
        FLEET_GATEWAY_COMMAND: STANDIN_GATEWAY,
        FLEET_HEARTBEAT_SECONDS: '0.5',
        FLEET_STALE_AFTER_SECONDS: '3',
        LOG_LEVEL: 'warn',
        ...world.env(),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let childErr = '';
    child.stderr!.on('data', (d: Buffer) => (childErr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    try {
      const token = app.token({ userId: 'user_cloud_killed' });
      const res = await app.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
      expect(res.status).toBe(202);
      made.push({ slug: await slugOf(app, 'user_cloud_killed'), app });
      // The child has sent the insert and is waiting for its operation: kill it there.
      await waitFor(
        () => ours('/wait').some((r) => r.status === 200) || child.exitCode !== null,
        30_000,
        'the worker to wait for its insert',
      );
      expect(child.exitCode, childErr).toBeNull();
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // Killed inside vm_create: the insert was sent (by the process configured from its settings alone), the step not done.
      expect(ours('/instances').filter((r) => r.path.endsWith('/instances'))).toHaveLength(1);
      const mid = (await (await app.request('/api/fleet', { token })).json()) as { fleet: FleetBody };
      expect(completeCounts(mid.fleet).vm_create).toBeUndefined();
      await held.release(); // GCE finishes the insert whether or not anyone waits

      const rescuer = await startRescuer(app);
      try {
        const fleet = await waitForFleet(app, token, ['active', 'error'], 60_000);
        expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
        expect(completeCounts(fleet).vm_create).toBe(1);
      } finally {
        await rescuer.stop();
      }
      const vmName = (await app.database.db.selectFrom('fleets').select('machine').executeTakeFirstOrThrow()).machine?.name;
      expect(gce.instances().filter((vm) => vm.name === vmName)).toHaveLength(1);
      // Every insert for this VM (the killed worker's and any resend) carried one requestId.
      const inserts = ours('/instances').filter((r) => r.path.endsWith('/instances'));
      expect(inserts.length).toBeGreaterThanOrEqual(1);
      expect(new Set(inserts.map((r) => r.query.requestId)).size).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
