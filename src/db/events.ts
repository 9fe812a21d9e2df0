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
 * The lock that makes one tenant's events commit in the order of their ids, taken before an
 * event's id is drawn and held to the end of its transaction. A stream reads "the tenant's events
 * after the last id it sent": without the lock, a transaction that drew id 10 and committed after
 * another that drew 11 would put 10 behind a cursor already at 11, and no stream would ever send
 * it. With it, the second writer of a tenant's event waits for the first to commit, so ids become
 * visible in order. Every transaction takes it after the fleet's and the run's row locks (the
 * event is the last thing each writes), so it adds no deadlock. Its own key space (two int4
 * keys) never meets the single-key advisory locks (the fair claim's).
 */
const EVENT_ORDER_LOCK = 0x65766e74; // "evnt"
export const eventOrderLock = (tenantId: string) => sql`pg_advisory_xact_lock(${EVENT_ORDER_LOCK}::int, hashtext(${tenantId}))`;

/**
 * Appends an event for a tenant's fleet and wakes every listener (any API replica) through
 * NOTIFY. Call it inside the transaction of the change it describes: NOTIFY is delivered on
 * commit, so a listener never hears of a change it cannot read yet.
 */
export async function recordEvent(db: Db, tenantId: string, type: 'status' | 'log', data: Record<string, unknown>): Promise<number> {
  const { rows } = await sql<{ id: number }>`WITH ${eventCtes(tenantId, type, data)} SELECT id, ${notifyOfEvent(tenantId)} FROM e`.execute(
    db,
  );
  return rows[0]!.id;
}

/**
 * The CTEs `k` (the tenant's order lock) and `e` (the event row, `RETURNING id`): a statement can
 * record its event in the same round trip as its change. The row is made from the lock's row, so
 * its id is drawn once the lock is held. Follow with `SELECT …, notifyOfEvent(tenantId) FROM e`.
 */
export function eventCtes(tenantId: string, type: 'status' | 'log', data: Record<string, unknown>) {
  return sql`k AS (SELECT ${eventOrderLock(tenantId)}), e AS (
      INSERT INTO fleet_events (tenant_id, type, data)
      SELECT ${tenantId}, ${type}, ${JSON.stringify(cleanOutsideJson(data))}::jsonb FROM k RETURNING id
    )`;
}

export const notifyOfEvent = (tenantId: string) => sql`pg_notify(${EVENTS_CHANNEL}, ${tenantId} || ':' || id)`;

/** The id of the tenant's newest event (0 when it has none): where a fresh SSE client starts. */
export async function latestEventId(db: Db, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('fleet_events')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

/** An event as a stream sends it: `data` is the stored JSON's text, written to the client unparsed. */
export interface StoredEvent {
  id: number;
  type: string;
  data: string;
}

/**
 * For each (tenant, cursor) asked, that tenant's events after the cursor, oldest first, at most
 * `limit`: one statement for any number of streams (one index range scan each), where a query per
 * stream per event cost a round trip and a pooled connection each. Answers in the order asked.
 */
export async function eventsAfterEach(
  db: Db,
  asks: ReadonlyArray<{ tenantId: string; cursor: number }>,
  limit: number,
): Promise<StoredEvent[][]> {
  const { rows } = await sql<StoredEvent & { ask: number }>`
    SELECT a.ask::int AS ask, e.id, e.type, e.data::text AS data
    FROM unnest(${asks.map((a) => a.tenantId)}::text[], ${asks.map((a) => a.cursor)}::bigint[]) WITH ORDINALITY AS a(tenant_id, cursor, ask)
    CROSS JOIN LATERAL (
      SELECT id, type, data FROM fleet_events f WHERE f.tenant_id = a.tenant_id AND f.id > a.cursor ORDER BY f.id LIMIT ${limit}
    ) e
    ORDER BY a.ask, e.id`.execute(db);
  const answers: StoredEvent[][] = asks.map(() => []);
  for (const { ask, ...event } of rows) answers[ask - 1]!.push(event);
  return answers;
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
