import { sql } from 'kysely';
import type { AgentSpec, FleetStatus, MachineRecord } from '../domain/fleet.ts';
import type { LogStatus, StepName } from '../domain/steps.ts';
import type { Db } from './connection.ts';

/**
 * A tenant's fleet as `GET /api/fleet` shows it, read in ONE query: the fleet row plus its whole
 * provision log (oldest first, all runs) aggregated in PostgreSQL, timestamps already in ISO 8601
 * UTC with ms. The machine stays in the driver's terms; the API maps it to the seed's field names.
 * `GET /api/fleet` is the hottest route: one round trip keeps it close to a bare server.
 */
export interface FleetRecord {
  status: FleetStatus;
  templateId: string;
  dashboardUrl: string | null;
  agentSpecs: AgentSpec[];
  repos: string[];
  machine: MachineRecord | null;
  provisionLog: Array<{
    step: StepName;
    status: LogStatus;
    message: string | null;
    durationMs: number | null;
    createdAt: string;
    /** The run that wrote it (an addition to the seed's shape: it lets a client tell runs apart). */
    runId: string | null;
  }>;
  createdAt: string;
  updatedAt: string;
}

const iso = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

const fleetJson = sql<FleetRecord>`json_build_object(
  'status', f.status,
  'templateId', f.template_id,
  'dashboardUrl', f.dashboard_url,
  'agentSpecs', (SELECT json_agg(json_build_object('name', a->>'name', 'role', a->>'role')) FROM jsonb_array_elements(f.agents) a),
  'repos', f.repos,
  'machine', f.machine,
  'provisionLog', COALESCE((
    SELECT json_agg(json_build_object(
      'step', l.step, 'status', l.status, 'message', l.message,
      'durationMs', l.duration_ms, 'createdAt', ${iso('l.created_at')}, 'runId', l.run_id) ORDER BY l.id)
    FROM provision_log l WHERE l.fleet_id = f.id), '[]'::json),
  'createdAt', ${iso('f.created_at')},
  'updatedAt', ${iso('f.updated_at')}
)`;

export type TenantLookup = { clerkOrgId: string } | { clerkUserId: string } | { tenantId: string };

/** The fleet of the tenant found by `lookup` and that tenant's id, or null when there is none. */
export async function readFleetRecord(db: Db, lookup: TenantLookup): Promise<{ tenantId: string; fleet: FleetRecord } | null> {
  const where =
    'clerkOrgId' in lookup
      ? sql`t.clerk_org_id = ${lookup.clerkOrgId}`
      : 'clerkUserId' in lookup
        ? sql`t.clerk_user_id = ${lookup.clerkUserId}`
        : sql`t.id = ${lookup.tenantId}`;
  const { rows } = await sql<{ tenant_id: string; fleet: FleetRecord }>`
    SELECT t.id AS tenant_id, ${fleetJson} AS fleet FROM tenants t JOIN fleets f ON f.tenant_id = t.id WHERE ${where}
  `.execute(db);
  const row = rows[0];
  return row ? { tenantId: row.tenant_id, fleet: row.fleet } : null;
}
