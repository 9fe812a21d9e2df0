import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/harness/db.ts';
import { createDb } from '../db/connection.ts';
import { recordEvent } from '../db/events.ts';
import { BatchedEventReader } from './batched-event-reader.ts';

let database: TestDatabase;
const ids: { tnt_a: number[]; tnt_b: number[] } = { tnt_a: [], tnt_b: [] };
beforeAll(async () => {
  database = await createTestDatabase();
  // Interleaved, so each tenant's ids have gaps another tenant's events fill.
  for (let i = 0; i < 5; i++) {
    for (const tenant of ['tnt_a', 'tnt_b'] as const) ids[tenant].push(await recordEvent(database.db, tenant, 'log', { tenant, i }));
  }
});
afterAll(async () => {
  await database.drop();
});

/** A reader whose statements are counted. */
function countingReader(opts?: ConstructorParameters<typeof BatchedEventReader>[1]) {
  let statements = 0;
  const counting: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      statements++;
      return args.result;
    },
  };
  return { reader: new BatchedEventReader(database.db.withPlugin(counting), opts), statements: () => statements };
}

describe('BatchedEventReader', () => {
  it("answers each ask with its own tenant's events after its cursor, oldest first, asked together in one statement", async () => {
    const { reader, statements } = countingReader();
    const [a0, aMid, b2, aEnd, aMidAgain] = await Promise.all([
      reader.after('tnt_a', 0),
      reader.after('tnt_a', ids.tnt_a[2]!),
      reader.after('tnt_b', ids.tnt_b[1]!),
      reader.after('tnt_a', ids.tnt_a[4]!),
      reader.after('tnt_a', ids.tnt_a[2]!),
    ]);
    expect(a0!.map((e) => e.id)).toEqual(ids.tnt_a);
    expect(aMid!.map((e) => e.id)).toEqual(ids.tnt_a.slice(3));
    expect(aMidAgain).toEqual(aMid);
    expect(b2!.map((e) => e.id)).toEqual(ids.tnt_b.slice(2));
    expect(aEnd).toEqual([]);
    // The stored JSON's text, ready for the stream.
    expect(JSON.parse(b2![0]!.data)).toEqual({ tenant: 'tnt_b', i: 2 });
    expect(b2![0]!.type).toBe('log');
    expect(statements()).toBe(1);
  });

  it('keeps at most `limit` events per ask, and splits what exceeds a batch into more statements', async () => {
    const { reader, statements } = countingReader({ limit: 2, maxInFlight: 2, maxBatch: 1 });
    const [a, b] = await Promise.all([reader.after('tnt_a', 0), reader.after('tnt_b', 0)]);
    expect(a!.map((e) => e.id)).toEqual(ids.tnt_a.slice(0, 2));
    expect(b!.map((e) => e.id)).toEqual(ids.tnt_b.slice(0, 2));
    expect(statements()).toBe(2);
  });

  it('asks made while its statements run wait and go out together in the next one', async () => {
    const { reader, statements } = countingReader({ limit: 1000, maxInFlight: 1, maxBatch: 500 });
    const first = reader.after('tnt_a', 0);
    await new Promise((r) => setImmediate(r)); // the first statement is on its way
    const later = await Promise.all(Array.from({ length: 20 }, (_, i) => reader.after(i % 2 ? 'tnt_a' : 'tnt_b', i)));
    await first;
    expect(later).toHaveLength(20);
    expect(statements()).toBe(2);
  });

  it('fails every ask of a statement that fails, and keeps sending later asks', async () => {
    // Nothing listens on port 1: every statement fails to connect.
    const { db } = createDb('postgres://fleet:x@127.0.0.1:1/none');
    const reader = new BatchedEventReader(db, { limit: 10, maxInFlight: 1, maxBatch: 500 });
    const results = await Promise.allSettled([reader.after('tnt_a', 0), reader.after('tnt_b', 0)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(reader.after('tnt_a', 0)).rejects.toThrow();
    await db.destroy();
  });
});
