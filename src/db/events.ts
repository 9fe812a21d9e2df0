import { sql } from 'kysely';
import type { Db } from './connection.ts';
import { cleanOutsideJson } from './outside-text.ts';

export const EVENTS_CHANNEL = 'fleet_events';
/** Says "tenant T now exists for Clerk owner O": how a stream opened before its tenant learns the tenant's id. */
export const TENANTS_CHANNEL = 'fleet_tenants';

/** The Clerk owner of a tenant as one string (`org:org_…` or `user:user_…`), as TENANTS_CHANNEL carries it. */
export function ownerKey(who: { clerkOrgId: string } | { clerkUserId: string }): string {
  return 'clerkOrgId' in who ? `org:${who.clerkOrgId}` : `user:${who.clerkUserId}`;
}

/** Announces a new tenant to every listener, on commit of the transaction that created it. */
export async function announceTenant(trx: Db, tenantId: string, owner: { clerkOrgId: string } | { clerkUserId: string }): Promise<void> {
  await sql`SELECT pg_notify(${TENANTS_CHANNEL}, ${`${tenantId} ${ownerKey(owner)}`})`.execute(trx);
}

/**
 * Appends an event for a tenant's fleet and wakes every listener (any API replica) through
 * NOTIFY. Call it inside the transaction of the change it describes: NOTIFY is delivered on
 * commit, so a listener never hears of a change it cannot read yet.
 */
export async function recordEvent(db: Db, tenantId: string, type: 'status' | 'log', data: Record<string, unknown>): Promise<number> {
  // One statement, one round trip: the row and its notification.
  const { rows } = await sql<{ id: number }>`
    WITH e AS (
      INSERT INTO fleet_events (tenant_id, type, data) VALUES (${tenantId}, ${type}, ${JSON.stringify(cleanOutsideJson(data))}::jsonb) RETURNING id
    )
    SELECT id, pg_notify(${EVENTS_CHANNEL}, ${tenantId} || ':' || id) FROM e`.execute(db);
  return rows[0]!.id;
}

/** The id of the tenant's newest event (0 when it has none): where a fresh SSE client starts. */
export async function latestEventId(db: Db, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('fleet_events')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

/** The tenant's events after `cursor`, oldest first, at most `limit`. */
export async function eventsAfter(
  db: Db,
  tenantId: string,
  cursor: number,
  limit: number,
): Promise<Array<{ id: number; type: string; data: Record<string, unknown> }>> {
  return db
    .selectFrom('fleet_events')
    .select(['id', 'type', 'data'])
    .where('tenant_id', '=', tenantId)
    .where('id', '>', cursor)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * Deletes events older than `keepHours` and moves the horizon past them, in one transaction.
 * Returns how many were deleted. Safe to run from several processes at once.
 */
export async function pruneEvents(db: Db, keepHours: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ deleted: number; through: number | null }>`
      WITH gone AS (
        DELETE FROM fleet_events WHERE created_at < now() - make_interval(hours => ${keepHours}) RETURNING id
      )
      SELECT count(*)::int AS deleted, max(id) AS through FROM gone`.execute(trx);
    const { deleted, through } = rows[0]!;
    if (through !== null) {
      await sql`UPDATE fleet_events_horizon SET pruned_through = GREATEST(pruned_through, ${through})`.execute(trx);
    }
    return deleted;
  });
}

/** Events up to this id may have been pruned: a cursor at or below it has a gap. */
export async function prunedThrough(db: Db): Promise<number> {
  const { rows } = await sql<{ pruned_through: number }>`SELECT pruned_through FROM fleet_events_horizon`.execute(db);
  return Number(rows[0]?.pruned_through ?? 0);
}
