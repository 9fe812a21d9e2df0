import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, tenantsWithFleets } from '../../test/harness/db.ts';
import { createDb, type Db } from './connection.ts';
import { readFleetRecord } from './fleet-view.ts';
import { getFleet, lockFleetOfTenant } from './fleets.ts';
import { activeRun, claimRun, insertRun } from './runs.ts';
import { findTenantBySlugOrId, getTenant, getTenantOfFleet } from './tenants.ts';

let database: TestDatabase;
let tenantId: string;
let fleetId: string;
beforeAll(async () => {
  database = await createTestDatabase();
  [{ tenantId, fleetId }] = (await tenantsWithFleets(database.db, ['prep_a'])) as [{ tenantId: string; fleetId: string }];
});
afterAll(() => database.drop());

/** One connection, so what it prepared is what pg_prepared_statements shows. */
function oneConnection(preparedStatements?: boolean): Db {
  return createDb(database.url, { max: 1, ...(preparedStatements === undefined ? {} : { preparedStatements }) }).db;
}

const preparedOn = async (db: Db) =>
  (await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(db)).rows.map((r) => r.statement);

/** Every read and write of whole rows the request and run paths make, on the fleet of `prep_a`. */
async function wholeRowStatements(db: Db) {
  await getFleet(db, fleetId);
  await getTenant(db, tenantId);
  await getTenantOfFleet(db, fleetId);
  await findTenantBySlugOrId(db, 'prep_a');
  await db
    .transaction()
    .execute(async (trx) => {
      expect((await lockFleetOfTenant(trx, tenantId))?.id).toBe(fleetId);
      const run = await insertRun(trx, fleetId, 'provision');
      expect((await activeRun(trx, fleetId))?.id).toBe(run.id);
      expect((await claimRun(trx, run.id, 'w1', 10, { fleetId, hostId: 'h1' }))?.status).toBe('running');
      // Rolled back: the fleet keeps no run.
      throw new Rollback();
    })
    .catch((e: unknown) => {
      if (!(e instanceof Rollback)) throw e;
    });
}
class Rollback extends Error {}

describe('prepared statements', () => {
  it('prepares a parameterised statement once per connection, and never one that selects *', async () => {
    const db = oneConnection();
    try {
      await getFleet(db, fleetId);
      await getFleet(db, fleetId);
      await sql`SELECT * FROM fleets WHERE id = ${fleetId}`.execute(db);
      await sql`SELECT f.* FROM fleets f WHERE f.id = ${fleetId}`.execute(db);
      await sql`SELECT 1`.execute(db);
      const prepared = await preparedOn(db);
      const fleetReads = prepared.filter(
        (s) => s.startsWith('select "id", "tenant_id", "status"') && s.includes('from "fleets" where "id" = $1'),
      );
      expect(fleetReads).toHaveLength(1);
      expect(prepared.filter((s) => s.includes('*'))).toEqual([]);
      // pg_prepared_statements itself has no parameter: it is not prepared either.
      expect(prepared.some((s) => s.includes('pg_prepared_statements'))).toBe(false);
    } finally {
      await db.destroy();
    }
  });

  it("prepares GET /api/fleet's read of the fleet view (planning it took PostgreSQL three times its run)", async () => {
    const db = oneConnection();
    try {
      const lookup = { tenantId };
      expect((await readFleetRecord(db, lookup, { wholeRuns: 10 }))?.tenantId).toBe(tenantId);
      await readFleetRecord(db, lookup, { wholeRuns: 10 });
      const prepared = await preparedOn(db);
      expect(prepared.filter((s) => s.includes("'provisionLog'") && s.includes('FROM tenants t JOIN fleets f'))).toHaveLength(1);
    } finally {
      await db.destroy();
    }
  });

  it('keeps every whole-row read and write working when a migration adds columns under a running process', async () => {
    const db = oneConnection();
    const client = await database.pool.connect();
    try {
      await wholeRowStatements(db);
      // What the rule against `*` is for: a prepared `select *` fails after the column is added.
      const star = { name: 'star_read', text: 'SELECT * FROM fleets WHERE id = $1', values: [fleetId] };
      await client.query(star);
      for (const table of ['fleets', 'tenants', 'provision_runs']) {
        await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN expand_test text`.execute(database.db);
      }
      await expect(client.query(star)).rejects.toThrow(/cached plan must not change result type/);
      await wholeRowStatements(db);
      expect((await preparedOn(db)).length).toBeGreaterThan(5);
    } finally {
      client.release(true);
      await db.destroy();
      for (const table of ['fleets', 'tenants', 'provision_runs']) {
        await sql`ALTER TABLE ${sql.table(table)} DROP COLUMN IF EXISTS expand_test`.execute(database.db);
      }
    }
  });

  it('prepares nothing when turned off (FLEET_DB_PREPARED_STATEMENTS=false)', async () => {
    const db = oneConnection(false);
    try {
      await wholeRowStatements(db);
      expect(await preparedOn(db)).toEqual([]);
    } finally {
      await db.destroy();
    }
  });
});
