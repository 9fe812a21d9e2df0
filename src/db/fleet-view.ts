import { sql } from 'kysely';
import type { AgentSpec, FleetStatus, MachineRecord } from '../domain/fleet.ts';
import { ALL_STEPS, type LogStatus, type StepName } from '../domain/steps.ts';
import type { Db } from './connection.ts';

/**
 * A tenant's fleet as `GET /api/fleet` shows it, read in ONE query: the fleet row plus its
 * provision log (oldest first) aggregated in PostgreSQL, timestamps already in ISO 8601 UTC with
 * ms. The machine stays in the driver's terms; the API maps it to the seed's field names.
 * `GET /api/fleet` is the hottest route: one round trip keeps it close to a bare server.
 *
 * The log is bounded, so a fleet provisioned a thousand times reads as fast as a new one: the
 * newest `wholeRuns` runs are shown whole; of the entries before them only each step's latest
 * stays (so "each step shows its latest entry" still tells what is done), and the rest is counted
 * in `provisionLogSummary`.
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
  /** What the bounded log leaves out; null when it shows everything. */
  provisionLogSummary: { olderRuns: number; omittedEntries: number } | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/** How much of the log a read shows whole (FLEET_LOG_WHOLE_RUNS). */
export interface FleetViewBounds {
  wholeRuns: number;
}

const fleetJson = sql<FleetRecord>`json_build_object(
  'status', f.status,
  'templateId', f.template_id,
  'dashboardUrl', f.dashboard_url,
  'agentSpecs', (SELECT json_agg(json_build_object('name', a->>'name', 'role', a->>'role')) FROM jsonb_array_elements(f.agents) a),
  'repos', f.repos,
  'machine', f.machine,
  'provisionLog', COALESCE(shown.entries, '[]'::json),
  'provisionLogSummary', CASE WHEN cut.at > 0
    THEN json_build_object('olderRuns', older.runs, 'omittedEntries', older.entries - shown.kept) END,
  'createdAt', ${iso('f.created_at')},
  'updatedAt', ${iso('f.updated_at')}
)`;

/**
 * Where the whole part of the log starts: after the last entry of the newest run beyond the
 * `wholeRuns` newest (a fleet's runs follow one another, so their entries do too); 0 when there
 * is none, and the whole log is shown. Two index probes.
 */
const boundary = (bounds: FleetViewBounds) => sql`COALESCE((
  SELECT max(e.id) FROM provision_log e WHERE e.run_id = (
    SELECT r.id FROM provision_runs r WHERE r.fleet_id = f.id ORDER BY r.created_at DESC, r.id DESC OFFSET ${bounds.wholeRuns} LIMIT 1
  )), 0)`;

/**
 * The log columns the view shows, named: a statement with a `*` is never prepared
 * (db/prepared-statements.ts), and this one took PostgreSQL about 3 ms to plan, three times its
 * run, on every read.
 */
const logColumns = (alias: string) =>
  sql.raw(['id', 'step', 'status', 'message', 'duration_ms', 'created_at', 'run_id'].map((c) => `${alias}.${c}`).join(', '));

/** The entries shown (see FleetRecord): all after the boundary, and before it each step's latest (one probe per step). */
const shownLog = sql`LATERAL (
  SELECT json_agg(json_build_object(
      'step', l.step, 'status', l.status, 'message', l.message,
      'durationMs', l.duration_ms, 'createdAt', ${iso('l.created_at')}, 'runId', l.run_id) ORDER BY l.id) AS entries,
    (count(*) FILTER (WHERE l.id <= cut.at))::int AS kept
  FROM (
    SELECT ${logColumns('latest')} FROM unnest(${[...ALL_STEPS]}::text[]) s(step) CROSS JOIN LATERAL (
      SELECT ${logColumns('x')} FROM provision_log x WHERE x.fleet_id = f.id AND x.step = s.step AND x.id <= cut.at ORDER BY x.id DESC LIMIT 1
    ) latest
    UNION ALL
    SELECT ${logColumns('e')} FROM provision_log e WHERE e.fleet_id = f.id AND e.id > cut.at
  ) l
) shown`;

/** Before the boundary: how many runs (the fleet's beyond its newest), how many entries (an index-only count). */
const older = (bounds: FleetViewBounds) => sql`LATERAL (
  SELECT GREATEST((SELECT count(*) FROM provision_runs r WHERE r.fleet_id = f.id) - ${bounds.wholeRuns}, 0)::int AS runs,
    (SELECT count(*) FROM provision_log o WHERE o.fleet_id = f.id AND o.id <= cut.at)::int AS entries
) older`;

export type TenantLookup = { clerkOrgId: string } | { clerkUserId: string } | { tenantId: string };

/** The fleet of the tenant found by `lookup` and that tenant's id, or null when there is none. */
export async function readFleetRecord(
  db: Db,
  lookup: TenantLookup,
  bounds: FleetViewBounds,
): Promise<{ tenantId: string; fleet: FleetRecord } | null> {
  const where =
    'clerkOrgId' in lookup
      ? sql`t.clerk_org_id = ${lookup.clerkOrgId}`
      : 'clerkUserId' in lookup
        ? sql`t.clerk_user_id = ${lookup.clerkUserId}`
        : sql`t.id = ${lookup.tenantId}`;
  const { rows } = await sql<{ tenant_id: string; fleet: FleetRecord }>`
    SELECT t.id AS tenant_id, ${fleetJson} AS fleet
    FROM tenants t JOIN fleets f ON f.tenant_id = t.id
      CROSS JOIN LATERAL (SELECT ${boundary(bounds)} AS at) cut CROSS JOIN ${shownLog} CROSS JOIN ${older(bounds)}
    WHERE ${where}
  `.execute(db);
  const row = rows[0];
  return row ? { tenantId: row.tenant_id, fleet: row.fleet } : null;
}
