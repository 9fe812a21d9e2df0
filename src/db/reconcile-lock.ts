import { sql } from 'kysely';
import type { Db } from './connection.ts';

/** The reconciler's lock key, in the same hashed namespace as fair-claim.ts's keys. */
const LOCK_NAME = 'agent-fleet:reconciler';

/**
 * Runs `work` only if no other process (or loop in this one) holds the reconciler's lock: one
 * reconciler at a time across every worker. A session lock on one reserved connection, not a
 * transaction's: a pass restarts gateways for minutes, and no transaction should stay open that
 * long. A process that dies loses its session, and with it the lock.
 */
export async function withReconcileLock<T>(db: Db, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(hashtextextended(${LOCK_NAME}, 0)) AS locked`.execute(conn);
    if (rows[0]?.locked !== true) return { ran: false as const };
    try {
      return { ran: true as const, result: await work() };
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtextextended(${LOCK_NAME}, 0))`.execute(conn);
    }
  });
}
