import { sql } from 'kysely';
import type { Db } from '../../src/db/connection.ts';

/**
 * Everything the database holds for each tenant, as one comparable string per tenant id: its row,
 * its fleet, runs, log, checkpoints, secrets (ciphertext), how many events and audit entries.
 * Two snapshots that differ for a tenant mean something wrote to that tenant in between.
 */
export async function tenantStates(db: Db): Promise<Map<string, string>> {
  const { rows } = await sql<{ id: string; state: string }>`
    SELECT t.id, jsonb_build_object(
      'tenant', to_jsonb(t),
      'fleet', (SELECT to_jsonb(f) FROM fleets f WHERE f.tenant_id = t.id),
      'runs', (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.id) FROM provision_runs r JOIN fleets f ON f.id = r.fleet_id WHERE f.tenant_id = t.id),
      'log', (SELECT jsonb_agg(to_jsonb(l) ORDER BY l.id) FROM provision_log l JOIN fleets f ON f.id = l.fleet_id WHERE f.tenant_id = t.id),
      'checkpoints', (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.step) FROM step_checkpoints c JOIN fleets f ON f.id = c.fleet_id WHERE f.tenant_id = t.id),
      'secrets', (SELECT jsonb_agg(jsonb_build_array(s.name, encode(s.ciphertext, 'hex')) ORDER BY s.name)
                    FROM fleet_secrets s JOIN fleets f ON f.id = s.fleet_id WHERE f.tenant_id = t.id),
      'events', (SELECT count(*) FROM fleet_events e WHERE e.tenant_id = t.id),
      'audit', (SELECT count(*) FROM audit_log a WHERE a.tenant_id = t.id)
    )::text AS state
    FROM tenants t`.execute(db);
  return new Map(rows.map((r) => [r.id, r.state]));
}

/** The tenants (of `ids`) whose state differs between two snapshots. */
export function changedTenants(before: Map<string, string>, after: Map<string, string>, ids: readonly string[]): string[] {
  return ids.filter((id) => before.get(id) !== after.get(id));
}

/** Waits until no run is queued or running anywhere: every write a batch started has landed. */
export async function runsSettled(db: Db, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM provision_runs WHERE status IN ('queued', 'running')`.execute(
      db,
    );
    if (rows[0]!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0]!.n} runs still at work after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What identifies a tenant in an answer: its ids, slug, fleet and run ids, and the tag the test
 * put in its name, repos and log messages.
 */
export async function markersOf(db: Db, tenantId: string, tag: string): Promise<string[]> {
  const { rows } = await sql<{ marker: string }>`
    SELECT t.id AS marker FROM tenants t WHERE t.id = ${tenantId}
    UNION SELECT t.slug FROM tenants t WHERE t.id = ${tenantId}
    UNION SELECT f.id FROM fleets f WHERE f.tenant_id = ${tenantId}
    UNION SELECT r.id FROM provision_runs r JOIN fleets f ON f.id = r.fleet_id WHERE f.tenant_id = ${tenantId}`.execute(db);
  return [tag, ...rows.map((r) => r.marker)];
}
