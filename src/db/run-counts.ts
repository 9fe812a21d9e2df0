import { sql } from 'kysely';
import type { Db } from './connection.ts';

/**
 * How many runs a fleet started in the last `windowSeconds`, and in how many seconds the oldest of
 * them leaves the window (when one more may start, once the count is at its limit).
 */
export async function runsStartedWithin(db: Db, fleetId: string, windowSeconds: number): Promise<{ count: number; freeInSeconds: number }> {
  const { rows } = await sql<{ count: number; free_in: number | null }>`
    SELECT count(*)::int AS count,
           ceil(extract(epoch FROM min(created_at) + make_interval(secs => ${windowSeconds}) - now()))::int AS free_in
      FROM provision_runs
     WHERE fleet_id = ${fleetId} AND created_at > now() - make_interval(secs => ${windowSeconds})`.execute(db);
  return { count: rows[0]?.count ?? 0, freeInSeconds: Math.max(1, rows[0]?.free_in ?? 1) };
}
