import type { Db } from './connection.ts';
import { recordEvent } from './events.ts';
import type { LogStatus, ProvisionStep } from '../domain/steps.ts';

/** Appends a provision-log entry and its event (so SSE clients see it), in the caller's transaction. */
export async function appendLog(
  db: Db,
  e: { fleetId: string; tenantId: string; runId: string; step: ProvisionStep; status: LogStatus; message: string | null; durationMs: number | null },
): Promise<void> {
  const row = await db
    .insertInto('provision_log')
    .values({ fleet_id: e.fleetId, run_id: e.runId, step: e.step, status: e.status, message: e.message, duration_ms: e.durationMs })
    .returning(['created_at'])
    .executeTakeFirstOrThrow();
  await recordEvent(db, e.tenantId, 'log', {
    runId: e.runId,
    step: e.step,
    status: e.status,
    message: e.message,
    durationMs: e.durationMs,
    createdAt: new Date(row.created_at).toISOString(),
  });
}
