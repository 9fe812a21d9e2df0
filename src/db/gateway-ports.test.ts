import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, tenantsWithFleets } from '../../test/harness/db.ts';
import { holdGatewayPort } from './gateway-ports.ts';

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
});
