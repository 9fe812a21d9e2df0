import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { ComputeDriverName, FleetAgent, FleetStatus, MachineRecord } from '../domain/fleet.ts';

/** Row types of the tables in migrations/, as Kysely sees them. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface TenantsTable {
  id: string;
  seq: Generated<number>;
  slug: string;
  name: string;
  plan: string;
  kind: 'org' | 'personal';
  clerk_org_id: string | null;
  clerk_user_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface FleetsTable {
  id: string;
  tenant_id: string;
  status: FleetStatus;
  template_id: string;
  dashboard_url: string | null;
  agents: JSONColumnType<FleetAgent[]>;
  repos: JSONColumnType<string[]>;
  machine: JSONColumnType<MachineRecord | null, string | null, string | null>;
  compute_driver: ColumnType<ComputeDriverName, ComputeDriverName | undefined, ComputeDriverName>;
  ssh_host_key: ColumnType<string | null, string | null | undefined, string | null>;
  settings: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ProvisionRunsTable {
  id: string;
  fleet_id: string;
  kind: 'provision' | 'retry';
  status: 'queued' | 'running' | 'complete' | 'error' | 'cancelled';
  worker: string | null;
  error: string | null;
  failed_step: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  heartbeat_at: Timestamp | null;
  finished_at: Timestamp | null;
  attempts: Generated<number>;
  last_crash: string | null;
  /** `user:<id>` or `tenant:<id>`; null for runs from before it was recorded. */
  requested_by: string | null;
}

export interface ProvisionLogTable {
  // bigserial: the pool parses int8 as a number (connection.ts).
  id: Generated<number>;
  fleet_id: string;
  run_id: string | null;
  step: string;
  status: 'running' | 'complete' | 'error';
  message: string | null;
  duration_ms: number | null;
  created_at: Timestamp;
}

export interface StepCheckpointsTable {
  fleet_id: string;
  step: string;
  position: number;
  run_id: string;
  output: JSONColumnType<Record<string, unknown>>;
  completed_at: Timestamp;
}

export interface FleetSecretsTable {
  fleet_id: string;
  name: string;
  ciphertext: Buffer;
  updated_at: Timestamp;
}

export interface FleetEventsTable {
  // bigserial: the pool parses int8 as a number (connection.ts).
  id: Generated<number>;
  tenant_id: string;
  type: string;
  data: JSONColumnType<Record<string, unknown>>;
  created_at: Timestamp;
}

export interface AuditLogTable {
  // bigserial: the pool parses int8 as a number (connection.ts).
  id: Generated<number>;
  tenant_id: string | null;
  actor: string;
  action: string;
  detail: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
}

export interface GatewayPortsTable {
  fleet_id: string;
  host: string;
  port: number;
  created_at: Generated<Timestamp>;
}

export interface Database {
  tenants: TenantsTable;
  fleets: FleetsTable;
  provision_runs: ProvisionRunsTable;
  provision_log: ProvisionLogTable;
  step_checkpoints: StepCheckpointsTable;
  fleet_secrets: FleetSecretsTable;
  fleet_events: FleetEventsTable;
  audit_log: AuditLogTable;
  gateway_ports: GatewayPortsTable;
}
