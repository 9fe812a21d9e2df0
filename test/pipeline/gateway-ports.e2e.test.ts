import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { CreateMachineRequest, LocalMachine } from '../../src/compute/driver.ts';
import { LocalDriver } from '../../src/compute/local.ts';
import { holdGatewayPort } from '../../src/db/gateway-ports.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { waitForFleet } from '../harness/wait.ts';

/**
 * The gateway port race: the local driver picks a port that is free at vm_create, and the gateway
 * binds it minutes later. A driver that hands the same port to two fleets (what two vm_create
 * steps in that window get from the OS) must not leave them sharing one gateway.
 */
let handedOut: number | undefined;
class OnePortDriver extends LocalDriver {
  override async createMachine(req: CreateMachineRequest): Promise<LocalMachine> {
    const machine = await super.createMachine(req);
    handedOut ??= machine.gatewayPort;
    return { ...machine, gatewayPort: handedOut };
  }
}

const app = useStandinApp({ workers: { concurrency: 1 }, drivers: {} });

describe('gateway ports', () => {
  it('never gives two fleets the same gateway port, even when the driver offers one twice', async () => {
    const t = app();
    t.settings.drivers.local = new OnePortDriver(t.settings.fleetsDir);
    const tokens = [t.token({ userId: 'user_port_a' }), t.token({ userId: 'user_port_b' })];
    const ports: number[] = [];
    for (const token of tokens) {
      const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
      expect(res.status).toBe(202);
      const fleet = await waitForFleet(t, token, ['active', 'error']);
      expect(fleet.status).toBe('active');
      ports.push(Number(new URL(fleet.dashboardUrl!).port));
    }
    expect(ports[0]).toBe(handedOut);
    expect(ports[1]).not.toBe(ports[0]);
    const held = await t.database.db.selectFrom('gateway_ports').select('port').orderBy('created_at').execute();
    expect(held.map((r) => r.port)).toEqual(ports);
  });

  it('gives a contested port to exactly one of many fleets asking for it at once', async () => {
    const { db } = app().database;
    const ids = Array.from({ length: 8 }, (_, i) => `race${i}`);
    for (const id of ids) {
      await sql`INSERT INTO tenants (id, slug, name, plan, kind, clerk_org_id) VALUES (${`tnt_${id}`}, ${id}, ${id}, 'free', 'org', ${`org_${id}`})`.execute(
        db,
      );
      await sql`INSERT INTO fleets (id, tenant_id, status, template_id, agents, repos)
                VALUES (${`flt_${id}`}, ${`tnt_${id}`}, 'pending', 'solo-engineer', '[]', '[]')`.execute(db);
    }
    const got = await Promise.all(ids.map((id) => holdGatewayPort(db, `flt_${id}`, 'local', 45999)));
    expect(got.filter((p) => p === 45999)).toHaveLength(1);
    expect(got.filter((p) => p === undefined)).toHaveLength(ids.length - 1);
    // Asking again, the winner keeps its port whatever it offers.
    const winner = ids[got.indexOf(45999)]!;
    expect(await holdGatewayPort(db, `flt_${winner}`, 'local', 46000)).toBe(45999);
  });
});
