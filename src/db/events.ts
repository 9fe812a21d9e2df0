import { sql } from 'kysely';
import type { Db } from './connection.ts';

export const EVENTS_CHANNEL = 'fleet_events';

/**
 * Appends an event for a tenant's fleet and wakes every listener (any API replica) through
 * NOTIFY. Call it inside the transaction of the change it describes: NOTIFY is delivered on
 * commit, so a listener never hears of a change it cannot read yet.
 */
export async function recordEvent(
  db: Db,
  tenantId: string,
  type: 'status' | 'log',
  data: Record<string, unknown>,
): Promise<number> {
  const row = await db
    .insertInto('fleet_events')
    .values({ tenant_id: tenantId, type, data: JSON.stringify(data) })
    .returning('id')
    .executeTakeFirstOrThrow();
  await sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${`${tenantId}:${row.id}`})`.execute(db);
  return Number(row.id);
}
