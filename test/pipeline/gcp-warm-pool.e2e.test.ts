import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpMachine } from '../../src/compute/driver.ts';
import { vmNameFor } from '../../src/compute/gcp-driver.ts';
import { gceLabelValue } from '../../src/compute/gcp.ts';
import { machineOwners } from '../../src/db/orphan-machines.ts';
import { getSecrets } from '../../src/db/secrets.ts';
import { claimReady, countReady, gcpPoolOf, listOfHost } from '../../src/db/warm-gateways.ts';
import { SshHost } from '../../src/hosts/ssh-host.ts';
import { publicKeyOf } from '../../src/hosts/ssh-keys.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { removePooledVms } from '../harness/gcp-pooled-vms.ts';
import { GCP_ZONES, type GcpWorld, startGcpWorld } from '../harness/gcp-vm.ts';
import { provisionToActive, waitForNoFleet } from '../harness/lifecycle.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { type FleetBody, waitFor, waitForFleet } from '../harness/wait.ts';

/**
 * The warm pool on the GCP driver: the Compute Engine stand-in makes the pooled VMs (one per
 * zone here), the loopback sshd plays each of them (each with a gateway port of its own), and the
 * stand-in gateway reloads its openclaw.json as OpenClaw does. A provision claims a pooled VM,
 * which is relabelled and re-keyed for the fleet, and goes active on its running gateway without
 * an insert of its own; the pool refills; an empty pool means a cold create; claims never share
 * a VM; deprovision deletes the VM with the API's 404 as proof; the orphan check knows the pool.
 */
const logLines: string[] = [];
const logSink = new Writable({
  write: (chunk, _enc, cb) => {
    logLines.push(chunk.toString());
    cb();
  },
});

let world: GcpWorld;
let t: TestApp;
const pools = GCP_ZONES.map(gcpPoolOf);

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  world = await startGcpWorld({ portPerVm: true });
  t = await createTestApp({
    workers: { concurrency: 2 },
    logSink,
    drivers: { gcp: world.driver },
    computeDriver: 'gcp',
    env: { ...world.env(), FLEET_WARM_POOL: '1', FLEET_WARM_RELOAD_TIMEOUT_MS: '5000' },
  });
}, 120_000);

afterAll(async () => {
  await t?.worker?.stop();
  if (world) await removePooledVms(world);
  await t?.close();
  await world?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

const pool = () => listOfHost(t.database.db, pools);
const ready = async () => (await pool()).filter((r) => r.state === 'ready');
const waitReady = (n: number) => waitFor(async () => (await countReady(t.database.db, pools)) === n, 60_000, `${n} pooled VMs ready`);
const gauge = async () => Number(/^fleet_warm_pool_ready (\d+)$/m.exec(await (await t.request('/metrics')).text())?.[1]);
const inserts = () => world.gce.requestsTo('POST', '/instances').filter((r) => r.path.endsWith('/instances'));
const insertedNames = (from: number) =>
  inserts()
    .slice(from)
    .map((r) => (r.body as { name: string }).name);

async function fleetOf(userId: string) {
  return t.database.db
    .selectFrom('fleets')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select(['fleets.id', 'fleets.ssh_host_key', 'tenants.slug'])
    .where('tenants.clerk_user_id', '=', userId)
    .executeTakeFirstOrThrow();
}

async function machineOfFleet(fleetId: string): Promise<GcpMachine> {
  const row = await t.database.db
    .selectFrom('step_checkpoints')
    .select('output')
    .where('fleet_id', '=', fleetId)
    .where('step', '=', 'vm_create')
    .executeTakeFirstOrThrow();
  return row.output as unknown as GcpMachine;
}

const stepMessage = (fleet: FleetBody, step: string) =>
  fleet.provisionLog.filter((e) => e.step === step && e.status === 'complete').at(-1)?.message ?? '';

/** Whether `privateKey` logs in to the "VM" (the loopback sshd). */
async function logsIn(privateKey: string): Promise<boolean> {
  const host = new SshHost({
    host: '127.0.0.1',
    port: world.sshd.port,
    username: world.sshd.user.name,
    privateKey,
    hostKey: { expected: world.sshd.hostFingerprint(), onFirstContact: async () => undefined },
    connectTimeoutMs: 10_000,
    root: world.sshd.user.home,
  });
  try {
    return (await host.exec('true', [], { timeoutMs: 10_000 })).code === 0;
  } catch {
    return false;
  } finally {
    await host.close();
  }
}

describe('the warm pool on GCP', () => {
  let warmFleet: { id: string; machine: GcpMachine } | undefined;

  it('hands a provision a pooled VM: no insert of its own, relabelled, its key alone authorised, active on the running gateway', {
    timeout: 120_000,
  }, async () => {
    await waitReady(2);
    expect(await gauge()).toBe(2);
    const before = await ready();
    // One per zone, made from the fleet image with the pool's labels and none of a tenant.
    expect(before.map((r) => r.zone).sort()).toEqual([...GCP_ZONES].sort());
    for (const r of before) {
      expect(world.gce.instance(r.zone!, r.vmName!)!.labels).toEqual({ 'managed-by': 'agent-fleet', pool: r.id });
      expect(r.sshHostKey).toBe(world.sshd.hostFingerprint());
    }
    // The first zone's is claimed first, as a cold create tries it first.
    const first = before.find((r) => r.zone === GCP_ZONES[0])!;
    const poolKeyLine = world.gce.instance(first.zone!, first.vmName!)!.metadata.find((m) => m.key === 'ssh-keys')!.value;
    // The pool's own key, sealed in its row: it logs in now, and must not once the VM is the fleet's.
    const { ssh_key_ciphertext } = await t.database.db
      .selectFrom('warm_gateways')
      .select('ssh_key_ciphertext')
      .where('id', '=', first.id)
      .executeTakeFirstOrThrow();
    const poolKey = t.box.open(ssh_key_ciphertext!, `warm_gateways/${first.id}/ssh_key`);
    expect(await logsIn(poolKey)).toBe(true);
    const inserted = inserts().length;

    const fleet = await provisionToActive(t, t.token({ userId: 'user_gwarm_a' }), 90_000);
    const row = await fleetOf('user_gwarm_a');
    const machine = await machineOfFleet(row.id);
    expect(machine).toMatchObject({ driver: 'gcp', vmName: first.vmName, zone: first.zone, root: first.root, gatewayPort: first.port });
    expect(fleet.gcpResources).toMatchObject({ vmName: first.vmName, zone: first.zone });
    // No VM was inserted for this fleet: every insert since is a refill of the pool.
    expect(insertedNames(inserted)).not.toContain(vmNameFor(row.slug));
    expect(insertedNames(inserted).every((n) => n.startsWith('fleetw-'))).toBe(true);
    expect(stepMessage(fleet, 'vm_create')).toContain('from the warm pool');
    expect(stepMessage(fleet, 'gateway_start')).toContain('from the warm pool took the fleet');
    const gatewayStart = await t.database.db
      .selectFrom('step_checkpoints')
      .select('output')
      .where('fleet_id', '=', row.id)
      .where('step', '=', 'gateway_start')
      .executeTakeFirstOrThrow();
    expect(gatewayStart.output).toMatchObject({ pid: first.pid, warm: true });

    // The VM is the fleet's: its labels, its key (the pool's is gone, and logs in no more).
    const vm = world.gce.instance(first.zone!, first.vmName!)!;
    expect(vm.labels).toEqual({ 'managed-by': 'agent-fleet', tenant: gceLabelValue(row.slug), fleet: gceLabelValue(row.id) });
    const fleetKey = (await getSecrets(t.database.db, t.box, row.id)).ssh_private_key!;
    expect(vm.metadata.find((m) => m.key === 'ssh-keys')!.value).toBe(
      `${world.sshd.user.name}:${publicKeyOf(fleetKey, `agent-fleet-${row.id}`)}`,
    );
    expect(vm.metadata.map((m) => m.value)).not.toContain(poolKeyLine);
    expect(await logsIn(fleetKey)).toBe(true);
    expect(await logsIn(poolKey)).toBe(false);
    // The host key the pool pinned at its first contact is the fleet's.
    expect(row.ssh_host_key).toBe(first.sshHostKey);
    // The tenant's config is in the pooled gateway's machine, on the VM's address as for any VM.
    const config = JSON.parse(fs.readFileSync(path.join(machine.root, 'openclaw/openclaw.json'), 'utf8'));
    expect(config.gateway).toMatchObject({ bind: 'lan', port: first.port });
    expect(Object.keys(config.agents.entries)).toEqual(['cantona']);

    // Refilled: the first zone has a new pooled VM; the claimed row is gone.
    await waitReady(2);
    const after = await ready();
    expect(after.map((r) => r.id)).not.toContain(first.id);
    expect(after.filter((r) => r.zone === GCP_ZONES[0])).toHaveLength(1);
    expect(await gauge()).toBe(2);
    warmFleet = { id: row.id, machine };
  });

  it('never gives one pooled VM to two provisions, nor to two claims at once', { timeout: 120_000 }, async () => {
    await waitReady(2);
    const [a, b] = await Promise.all(['user_gwarm_b', 'user_gwarm_c'].map((u) => provisionToActive(t, t.token({ userId: u }), 90_000)));
    expect(a!.gcpResources!.vmName).toMatch(/^fleetw-/);
    expect(b!.gcpResources!.vmName).toMatch(/^fleetw-/);
    expect(a!.gcpResources!.vmName).not.toBe(b!.gcpResources!.vmName);

    await waitReady(2);
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        claimReady(t.database.db, t.box, { hostId: pools, fleetId: `flt_grace${i}`, runId: `run_grace${i}` }),
      ),
    );
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(2);
    expect(new Set(won.map((c) => c.gateway.vmName)).size).toBe(2);
    // Claims whose fleets do not exist are reaped: their VMs deleted.
    await waitFor(async () => (await pool()).every((r) => r.state !== 'claimed'), 30_000, 'claims of missing fleets reaped');
    for (const c of won) expect(world.gce.instance(c.gateway.zone!, c.gateway.vmName!)).toBeUndefined();
  });

  it('creates the VM cold when no pooled VM is ready, and says why in the log', { timeout: 120_000 }, async () => {
    await waitReady(2);
    // The refills hang in GCE: the pool stays empty while this provision runs.
    const held = world.gce.holdOperations();
    let released = false;
    try {
      const taken = await Promise.all(
        [0, 1].map((i) => claimReady(t.database.db, t.box, { hostId: pools, fleetId: `flt_gtaken${i}`, runId: `run_gtaken${i}` })),
      );
      expect(taken.every((c) => c !== undefined)).toBe(true);
      const inserted = inserts().length;
      const token = t.token({ userId: 'user_gwarm_cold' });
      expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(202);
      const slug = (await fleetOf('user_gwarm_cold')).slug;
      await waitFor(() => insertedNames(inserted).includes(vmNameFor(slug)), 30_000, 'the cold insert');
      await held.release();
      released = true;
      const fleet = await waitForFleet(t, token, ['active', 'error'], 90_000);
      expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
      expect(fleet.gcpResources!.vmName).toBe(vmNameFor(slug));
      expect(logLines.join('')).toContain(`no pooled VM is ready in ${pools.join(', ')}`);
      await world.removeFleet(t.database.db, t.box, slug);
    } finally {
      if (!released) await held.release();
    }
  });

  it('keeps ready pooled VMs out of the orphan check, and finds (and reaps) a pooled VM without a row', { timeout: 60_000 }, async () => {
    await waitReady(2);
    const leaked = world.gce.addInstance({
      zone: GCP_ZONES[1]!,
      name: 'fleetw-1eaced0000000000',
      labels: { 'managed-by': 'agent-fleet', pool: 'wgw_1eaced0000000000' },
    });
    const orphans = (await world.driver.listOrphans(await machineOwners(t.database.db))).map((o) => o.machine.vmName);
    expect(orphans).toContain(leaked.name);
    for (const r of await ready()) expect(orphans).not.toContain(r.vmName);
    // The pool's own pass deletes a pooled VM that no row names.
    await waitFor(() => world.gce.instance(GCP_ZONES[1]!, leaked.name) === undefined, 20_000, 'the leaked pooled VM deleted');
    expect(await countReady(t.database.db, pools)).toBe(2);
  });

  it('reaps a starting row whose process died on this host, with its VM', { timeout: 60_000 }, async () => {
    await waitReady(2);
    const [victim] = await ready();
    await t.database.db
      .updateTable('warm_gateways')
      .set({ state: 'starting', owner_pid: 2 ** 22 + 1 })
      .where('id', '=', victim!.id)
      .execute();
    await waitFor(async () => !(await pool()).some((r) => r.id === victim!.id), 20_000, 'the dead starter’s row reaped');
    expect(world.gce.instance(victim!.zone!, victim!.vmName!)).toBeUndefined();
    await waitReady(2);
  });

  it('deprovisions a fleet on a pooled VM like any other: the VM deleted, a 404 as proof', { timeout: 90_000 }, async () => {
    const token = t.token({ userId: 'user_gwarm_a' });
    const { machine } = warmFleet!;
    expect((await t.request('/api/fleet', { method: 'DELETE', token })).status).toBe(202);
    await waitForNoFleet(t, token, 60_000);
    expect(world.gce.instance(machine.zone, machine.vmName)).toBeUndefined();
    const audit = (await (await t.request('/api/fleet/audit', { token })).json()) as {
      entries: Array<{ action: string; detail: { proof?: Array<{ resource: string; verifiedBy: string }> } }>;
    };
    const proof = audit.entries.find((e) => e.action === 'fleet.deprovisioned')?.detail.proof;
    expect(proof).toEqual(
      expect.arrayContaining([
        { resource: `VM ${machine.vmName} in ${machine.zone} (with its boot disk)`, verifiedBy: 'instances.get answered 404 notFound' },
      ]),
    );
  });

  it('leaves its ready pooled VMs to the zone when its process stops (they are shared, and slow to make)', {
    timeout: 60_000,
  }, async () => {
    await waitReady(2);
    const before = await ready();
    await t.worker!.stop();
    expect((await ready()).map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    for (const r of before) expect(world.gce.instance(r.zone!, r.vmName!)?.status).toBe('RUNNING');
  });
});
