import { sql } from 'kysely';
import type { Db } from './connection.ts';

/**
 * Records a webhook delivery by its id, in the caller's transaction; false when it was recorded
 * before (a replay). Deliveries older than `keepHours` are pruned on the way: a replay that old
 * is refused by its signature's timestamp anyway.
 */
export async function recordDelivery(trx: Db, svixId: string, type: string, keepHours: number): Promise<boolean> {
  await sql`DELETE FROM clerk_webhook_deliveries WHERE received_at < now() - make_interval(hours => ${keepHours})`.execute(trx);
  const inserted = await trx
    .insertInto('clerk_webhook_deliveries')
    .values({ svix_id: svixId, type })
    .onConflict((oc) => oc.column('svix_id').doNothing())
    .returning('svix_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** True when the delivery was handled before. */
export async function deliverySeen(db: Db, svixId: string): Promise<boolean> {
  const row = await db.selectFrom('clerk_webhook_deliveries').select('svix_id').where('svix_id', '=', svixId).executeTakeFirst();
  return row !== undefined;
}
