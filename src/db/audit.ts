import type { Db } from './connection.ts';

/** Who did what to which tenant. `actor` is `platform`, `user:<id>`, `webhook` or `worker:<id>`. */
export async function audit(
  db: Db,
  entry: { tenantId: string | null; actor: string; action: string; detail?: Record<string, unknown> },
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      tenant_id: entry.tenantId,
      actor: entry.actor,
      action: entry.action,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}
