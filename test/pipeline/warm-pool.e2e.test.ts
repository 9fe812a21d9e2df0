import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalMachine } from '../../src/compute/driver.ts';
import { claimReady, countReady, listOfHost } from '../../src/db/warm-gateways.ts';
import { canRunAsOtherUsers, lookupUser } from '../../src/hosts/os-users.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { provisionToActive, waitForNoFleet } from '../harness/lifecycle.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { type FleetBody, waitFor } from '../harness/wait.ts';
import { alive } from '../hosts/fixtures.ts';

/**
 * The warm pool with the stand-in gateway (which reloads its openclaw.json as OpenClaw does): a
 * provision claims a started, empty gateway and the fleet goes active on it; the pool refills;
 * an empty pool or a pooled gateway that does not reload means a cold start, with the reason
 * logged; concurrent claims never share a gateway; pooled machines have OS users of their own.
 */
const logLines: string[] = [];
const logSink = new Writable({
  write: (chunk, _enc, cb) => {
    logLines.push(chunk.toString());
    cb();
  },
});

let t: TestApp;
beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  t = await createTestApp({
    workers: { concurrency: 2 },
    logSink,
    env: { FLEET_WARM_POOL: '1', FLEET_WARM_RELOAD_TIMEOUT_MS: '2000', FLEET_HEARTBEAT_SECONDS: '0.5', FLEET_STALE_AFTER_SECONDS: '3' },
  });
});
afterAll(async () => {
  await t?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

const hostId = () => t.settings.hostId;
const pool = () => listOfHost(t.database.db, hostId());
const waitReady = (n: number) =>
  waitFor(async () => (await countReady(t.database.db, hostId())) === n, 30_000, `${n} pooled gateways ready`);

async function machineOfUser(userId: string): Promise<LocalMachine> {
  const row = await t.database.db
    .selectFrom('step_checkpoints')
    .innerJoin('fleets', 'fleets.id', 'step_checkpoints.fleet_id')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select('step_checkpoints.output')
    .where('tenants.clerk_user_id', '=', userId)
    .where('step_checkpoints.step', '=', 'vm_create')
    .executeTakeFirstOrThrow();
  return row.output as unknown as LocalMachine;
}

const stepMessage = (fleet: FleetBody, step: string) =>
  fleet.provisionLog.filter((e) => e.step === step && e.status === 'complete').at(-1)?.message ?? '';

const gauge = async () => Number(/^fleet_warm_pool_ready (\d+)$/m.exec(await (await t.request('/metrics')).text())?.[1]);

describe('the warm pool', () => {
  let warmUser: string | undefined;

  it('hands a started gateway to a provision, which goes active on it; the pool refills', { timeout: 60_000 }, async () => {
    await waitReady(1);
    expect(await gauge()).toBe(1);
    const [pooled] = await pool();
    expect(pooled).toMatchObject({ state: 'ready' });
    expect(alive(pooled!.pid!)).toBe(true);

    const fleet = await provisionToActive(t, t.token({ userId: 'user_warm_a' }));
    const machine = await machineOfUser('user_warm_a');
    expect(machine.root).toBe(pooled!.root);
    expect(machine.gatewayPort).toBe(pooled!.port);
    expect(stepMessage(fleet, 'vm_create')).toContain('from the warm pool');
    expect(stepMessage(fleet, 'gateway_start')).toContain('from the warm pool took the fleet');
    // The very process that was started empty serves the tenant now, with its agents in its config.
    const gatewayStart = await t.database.db
      .selectFrom('step_checkpoints')
      .select('output')
      .where('step', '=', 'gateway_start')
      .executeTakeFirstOrThrow();
    expect(gatewayStart.output).toMatchObject({ pid: pooled!.pid, warm: true });
    const config = JSON.parse(fs.readFileSync(`${machine.root}/openclaw/openclaw.json`, 'utf8'));
    const { agents } = await t.database.db.selectFrom('fleets').select('agents').executeTakeFirstOrThrow();
    expect(Object.keys(config.agents.entries)).toEqual(agents.map((a) => a.name));
    expect(fs.readFileSync(`${machine.root}/openclaw/gateway.log`, 'utf8')).toMatch(/config hot reload applied \(.*agents\.entries/);
    expect(new URL(fleet.dashboardUrl!).port).toBe(String(pooled!.port));

    // Refilled to N with a new gateway; the claimed row is gone (the machine is simply the fleet's).
    await waitReady(1);
    const after = await pool();
    expect(after).toHaveLength(1);
    expect(after[0]!.id).not.toBe(pooled!.id);
    expect(await gauge()).toBe(1);
    warmUser = machine.osUser;
  });

  it.skipIf(!canRunAsOtherUsers())('gives a pooled machine an OS user of its own, which the claiming fleet then owns', async () => {
    expect(warmUser).toMatch(/^fleetw-/);
    const user = lookupUser(warmUser!)!;
    expect(fs.statSync((await machineOfUser('user_warm_a')).root).uid).toBe(user.uid);
    // The next pooled gateway has another user: no tenant shares one with another.
    const [next] = await pool();
    expect(next!.osUser).not.toBe(warmUser);
    expect(lookupUser(next!.osUser!)!.uid).not.toBe(user.uid);
  });

  it('cold-starts when the pool is empty, and says why in the log', { timeout: 60_000 }, async () => {
    await waitReady(1);
    const a = t.request('/api/fleet/provision', {
      method: 'POST',
      token: t.token({ userId: 'user_warm_b' }),
      json: { templateId: 'solo-engineer' },
    });
    const b = t.request('/api/fleet/provision', {
      method: 'POST',
      token: t.token({ userId: 'user_warm_c' }),
      json: { templateId: 'solo-engineer' },
    });
    expect((await a).status).toBe(202);
    expect((await b).status).toBe(202);
    const roots = await Promise.all(
      ['user_warm_b', 'user_warm_c'].map(async (u) => {
        await waitFor(
          async () => {
            const body = (await (await t.request('/api/fleet', { token: t.token({ userId: u }) })).json()) as { fleet: FleetBody };
            return body.fleet.status === 'active';
          },
          30_000,
          `${u} active`,
        );
        return (await machineOfUser(u)).root;
      }),
    );
    // One got the pooled gateway, the other (the pool had one) a cold machine of its own.
    expect(roots.filter((r) => r.includes('/fleets/.warm/'))).toHaveLength(1);
    expect(logLines.join('')).toContain('no pooled gateway is ready on host');
  });

  it('cold-starts in the same machine when the pooled gateway does not reload with the tenant', { timeout: 60_000 }, async () => {
    await waitReady(1);
    const [pooled] = await pool();
    // A hung gateway: alive, holding its port, answering nothing and reloading nothing.
    process.kill(pooled!.pid!, 'SIGSTOP');
    const fleet = await provisionToActive(t, t.token({ userId: 'user_warm_d' }));
    const machine = await machineOfUser('user_warm_d');
    expect(machine.root).toBe(pooled!.root);
    expect(stepMessage(fleet, 'gateway_start')).toMatch(/gateway started \(pid \d+\)/);
    expect(alive(pooled!.pid!)).toBe(false);
    expect(logLines.join('')).toContain("did not reload with the tenant's agents within 2 s");
  });

  it('cold-starts when the pooled gateway holds another token than the one the fleet is given', { timeout: 60_000 }, async () => {
    await waitReady(1);
    const [pooled] = await pool();
    // The row's token no longer matches the gateway's: the fleet must not take a gateway that
    // cannot prove it holds the fleet's token, however healthy it looks.
    await t.database.db
      .updateTable('warm_gateways')
      .set({ token_ciphertext: t.box.seal('a-token-the-gateway-never-had', `warm_gateways/${pooled!.id}`) })
      .where('id', '=', pooled!.id)
      .execute();
    const fleet = await provisionToActive(t, t.token({ userId: 'user_warm_e' }));
    expect((await machineOfUser('user_warm_e')).root).toBe(pooled!.root);
    expect(stepMessage(fleet, 'gateway_start')).toMatch(/gateway started \(pid \d+\)/);
    expect(alive(pooled!.pid!)).toBe(false);
    expect(logLines.join('')).toContain('the gateway on its port holds another token');
  });

  it('never gives one pooled gateway to two claims at once', { timeout: 60_000 }, async () => {
    await waitReady(1);
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        claimReady(t.database.db, t.box, { hostId: hostId(), fleetId: `flt_race${i}`, runId: `run_race${i}` }),
      ),
    );
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    // A claim whose transaction is still open holds its row: another claim passes over it at
    // once (nothing else is ready) instead of waiting for it and taking the same gateway after.
    await waitReady(1);
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let first: Awaited<ReturnType<typeof claimReady>>;
    const open = t.database.db.transaction().execute(async (trx) => {
      first = await claimReady(trx, t.box, { hostId: hostId(), fleetId: 'flt_held', runId: 'run_held' });
      await held;
    });
    await waitFor(() => first !== undefined, 5000, 'the held claim');
    const meanwhile = await Promise.race([
      claimReady(t.database.db, t.box, { hostId: hostId(), fleetId: 'flt_other', runId: 'run_other' }),
      new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 3000)),
    ]);
    release();
    await open;
    expect(meanwhile).toBeUndefined();
    expect((await pool()).filter((r) => r.id === first!.gateway.id)).toMatchObject([{ state: 'claimed', fleetId: 'flt_held' }]);
    // The refill gives the next claim its own gateway, never the one already taken.
    await waitReady(1);
    const second = await claimReady(t.database.db, t.box, { hostId: hostId(), fleetId: 'flt_race_next', runId: 'run_race_next' });
    expect(second!.gateway.id).not.toBe(won[0]!.gateway.id);
    expect(second!.token).not.toBe(won[0]!.token);
    // Claims whose fleets do not exist are reaped: their gateways stopped, their machines gone.
    await waitFor(async () => (await pool()).every((r) => r.state !== 'claimed'), 20_000, 'claims of missing fleets reaped');
    expect(fs.existsSync(won[0]!.gateway.root)).toBe(false);
  });

  it('deprovisions a fleet on a pooled machine like any other', { timeout: 60_000 }, async () => {
    const token = t.token({ userId: 'user_warm_a' });
    const machine = await machineOfUser('user_warm_a');
    expect((await t.request('/api/fleet', { method: 'DELETE', token })).status).toBe(202);
    await waitForNoFleet(t, token);
    expect(fs.existsSync(machine.root)).toBe(false);
    if (machine.osUser) expect(lookupUser(machine.osUser)).toBeUndefined();
    // The proof names the directory the machine really had, under the pool's.
    const audit = (await (await t.request('/api/fleet/audit', { token })).json()) as {
      entries: Array<{ action: string; detail: { proof?: Array<{ resource: string; verifiedBy: string }> } }>;
    };
    const proof = audit.entries.find((e) => e.action === 'fleet.deprovisioned')?.detail.proof;
    expect(proof).toEqual(
      expect.arrayContaining([
        { resource: `machine directory fleets/.warm/${path.basename(machine.root)}`, verifiedBy: 'directory absent' },
      ]),
    );
  });
});

describe('a process that stops', () => {
  it('stops the unclaimed pooled gateways it started', { timeout: 60_000 }, async () => {
    const other = await createTestApp({ workers: { concurrency: 1 }, env: { FLEET_WARM_POOL: '2' } });
    let closed = false;
    try {
      await waitFor(async () => (await countReady(other.database.db, other.settings.hostId)) === 2, 30_000, 'two ready');
      const rows = await listOfHost(other.database.db, other.settings.hostId);
      await other.worker!.stop();
      for (const r of rows) {
        expect(alive(r.pid!)).toBe(false);
        expect(fs.existsSync(r.root)).toBe(false);
      }
      expect(await listOfHost(other.database.db, other.settings.hostId)).toEqual([]);
      await other.close();
      closed = true;
    } finally {
      if (!closed) await other.close();
    }
  });
});
