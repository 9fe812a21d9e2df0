import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, tenantsWithFleets } from '../../test/harness/db.ts';
import type { Db } from './connection.ts';
import { eventsAfterEach, recordEvent } from './events.ts';
import { appendLog } from './provision-log.ts';

let database: TestDatabase;
const tenants: Array<{ tenantId: string; fleetId: string }> = [];
beforeAll(async () => {
  database = await createTestDatabase();
  tenants.push(...(await tenantsWithFleets(database.db, ['order_a', 'order_b', 'order_c'])));
});
afterAll(() => database.drop());

/**
 * Runs `write` in a transaction held open until the returned `release` (its commit awaited by
 * `committed`): a writer that drew its ids and has not committed yet.
 */
async function writtenAndHeldOpen(write: (trx: Db) => Promise<unknown>) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let wrote!: () => void;
  const written = new Promise<void>((r) => (wrote = r));
  const committed = database.db.transaction().execute(async (trx) => {
    await write(trx);
    wrote();
    await gate;
  });
  await written;
  return { release, committed };
}

/** A stream that has sent what was there already: what it sends from now on. */
async function streamFromNow(tenantId: string) {
  const stream = streamOf(tenantId);
  await stream.pump();
  stream.sent.length = 0;
  return stream;
}

/** What a stream does: everything after its cursor, the cursor moved to the last id sent. */
function streamOf(tenantId: string) {
  let cursor = 0;
  const sent: number[] = [];
  return {
    sent,
    async pump() {
      const [events] = await eventsAfterEach(database.db, [{ tenantId, cursor }], 1000);
      for (const e of events!) {
        sent.push(e.id);
        cursor = e.id;
      }
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const writers: Array<[string, (db: Db, t: { tenantId: string; fleetId: string }) => Promise<unknown>]> = [
  ['a status event', (db, t) => recordEvent(db, t.tenantId, 'status', { status: 'provisioning' })],
  [
    'a provision-log entry',
    (db, t) =>
      appendLog(db, {
        fleetId: t.fleetId,
        tenantId: t.tenantId,
        runId: null,
        step: 'reconcile',
        status: 'complete',
        message: 'x',
        durationMs: null,
      }),
  ],
];

describe("one tenant's events become visible in the order of their ids", () => {
  it.each(writers)('a stream misses no event when a transaction that drew an earlier id commits later (%s)', async (_, write) => {
    const t = tenants[0]!;
    const stream = await streamFromNow(t.tenantId);
    // The first writer draws its id, then holds its transaction open.
    const first = await writtenAndHeldOpen((trx) => write(trx, t));
    // The second draws a later id and commits at once (or waits for the first: the fix).
    const second = write(database.db, t);
    try {
      await sleep(200);
      await stream.pump();
    } finally {
      first.release();
      await first.committed;
      await second;
    }
    await stream.pump();
    const all = (await database.db.selectFrom('fleet_events').select('id').where('tenant_id', '=', t.tenantId).orderBy('id').execute()).map(
      (r) => r.id,
    );
    expect(stream.sent).toEqual(all.slice(-2));
  });

  it("does not hold another tenant's events back", async () => {
    const [a, b] = [tenants[1]!, tenants[2]!];
    const other = await streamFromNow(b.tenantId);
    const first = await writtenAndHeldOpen((trx) => recordEvent(trx, a.tenantId, 'status', { status: 'provisioning' }));
    try {
      const id = await recordEvent(database.db, b.tenantId, 'status', { status: 'provisioning' });
      await other.pump();
      expect(other.sent).toEqual([id]);
    } finally {
      first.release();
      await first.committed;
    }
  });
});
