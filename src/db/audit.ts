import { sql } from 'kysely';
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
      // The slug too: the entry outlives the tenant, and the platform knows a tenant by its slug.
      tenant_slug: entry.tenantId === null ? null : sql<string | null>`(SELECT slug FROM tenants WHERE id = ${entry.tenantId})`,
      actor: entry.actor,
      action: entry.action,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}

export interface AuditEntry {
  id: number;
  tenantId: string | null;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
  createdAt: string;
}

/**
 * A tenant's audit, oldest first, up to `limit` entries after `afterId`: by `tnt_…` id, or by
 * slug (every tenant that held it, a deleted one included). Kept when the tenant is deleted.
 */
export async function listAudit(db: Db, key: string, page: { afterId?: number; limit: number }): Promise<AuditEntry[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['id', 'tenant_id', 'actor', 'action', 'detail', 'created_at'])
    .where((eb) => (key.startsWith('tnt_') ? eb('tenant_id', '=', key) : eb('tenant_slug', '=', key)))
    .where('id', '>', page.afterId ?? 0)
    .orderBy('id')
    .limit(page.limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    actor: r.actor,
    action: r.action,
    detail: r.detail,
    createdAt: (r.created_at instanceof Date ? r.created_at : new Date(r.created_at)).toISOString(),
  }));
}

/** True when anything was ever audited under `key` (a tenant id or slug), deleted tenants included. */
export async function hasAudit(db: Db, key: string): Promise<boolean> {
  const row = await db
    .selectFrom('audit_log')
    .select('id')
    .where((eb) => (key.startsWith('tnt_') ? eb('tenant_id', '=', key) : eb('tenant_slug', '=', key)))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
