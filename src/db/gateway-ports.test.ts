import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, tenantsWithFleets } from '../../test/harness/db.ts';
import { SecretBox } from '../secrets/secret-box.ts';
import { holdGatewayPort } from './gateway-ports.ts';
import { insertStarting } from './warm-gateways.ts';

let database: TestDatabase;
let fleets: string[];
beforeAll(async () => {
  database = await createTestDatabase();
  fleets = (await tenantsWithFleets(database.db, ['port_a', 'port_b'])).map((t) => t.fleetId);
});
afterAll(() => database.drop());

const pooled = (id: string, port: number, state: 'starting' | 'ready' | 'claimed', fleetId: string | null = null) =>
  database.db
    .insertInto('warm_gateways')
    .values({ id, host_id: 'h1', state, root: `/tmp/${id}`, port, token_ciphertext: Buffer.from('x'), owner_pid: 1, fleet_id: fleetId })
    .execute();

describe('gateway port reservations', () => {
  it('never give a cold fleet the port of a pooled gateway no fleet has claimed, starting or ready', async () => {
    await pooled('wgw_p1', 41001, 'starting');
    await pooled('wgw_p2', 41002, 'ready');
    expect(await holdGatewayPort(database.db, fleets[0]!, 'local', 41001)).toBeUndefined();
    expect(await holdGatewayPort(database.db, fleets[0]!, 'local', 41002)).toBeUndefined();
    expect(await holdGatewayPort(database.db, fleets[0]!, 'local', 41003)).toBe(41003);
    // A VM's ports are its own: the local pool's do not concern it.
    expect(await holdGatewayPort(database.db, fleets[1]!, 'gcp:fleet-port-b', 41001)).toBe(41001);
  });

  it('give the claiming fleet the port of the pooled gateway it claimed', async () => {
    await pooled('wgw_p3', 41004, 'claimed', fleets[1]!);
    expect(await holdGatewayPort(database.db, fleets[1]!, 'local', 41004)).toBe(41004);
  });

  it('never record a pooled gateway on a port a fleet holds while its gateway is down, even when both ask at once', async () => {
    const box = SecretBox.fromHex(randomBytes(32).toString('hex'));
    const [held, racing] = (await tenantsWithFleets(database.db, ['port_c', 'port_d'])).map((t) => t.fleetId) as [string, string];
    const starting = (id: string, port: number) =>
      insertStarting(database.db, box, { id, hostId: 'h2', root: `/tmp/${id}`, port, osUser: undefined, token: 't', want: 10 });
    expect(await holdGatewayPort(database.db, held, 'local', 41010)).toBe(41010);
    expect(await starting('wgw_p10', 41010)).toBe(false);
    expect(await database.db.selectFrom('warm_gateways').select('id').where('id', '=', 'wgw_p10').executeTakeFirst()).toBeUndefined();
    // A free port is recorded as before.
    expect(await starting('wgw_p11', 41011)).toBe(true);
    // A fleet and a pooled gateway offered one free port at the same moment: exactly one gets it.
    for (let port = 41020; port < 41030; port++) {
      const [fleetGot, poolGot] = await Promise.all([holdGatewayPort(database.db, racing, 'local', port), starting(`wgw_r${port}`, port)]);
      expect([fleetGot === port, poolGot].filter(Boolean)).toHaveLength(1);
      await database.db.deleteFrom('gateway_ports').where('fleet_id', '=', racing).execute();
      await database.db.deleteFrom('warm_gateways').where('id', '=', `wgw_r${port}`).execute();
    }
  });
});
