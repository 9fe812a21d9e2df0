import { sql } from 'kysely';
import type { Db } from './connection.ts';

/** Resolves when the database answers a trivial statement within `timeoutMs`; rejects otherwise (readiness probes). */
export async function databaseAnswers(db: Db, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`SELECT 1`.execute(db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
