import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { FleetHealthReport } from '../domain/fleet-health.ts';
import type { ComputeDriverName, DesiredState, FleetAgent, FleetStatus, MachineRecord } from '../domain/fleet.ts';
import type { RunKind } from '../domain/run-kinds.ts';

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
  desired_state: ColumnType<DesiredState, DesiredState | undefined, DesiredState>;
  /** `platform` or `user:<id>` while suspended: a platform suspension is lifted by the platform only. */
  suspended_by: ColumnType<string | null, string | null | undefined, string | null>;
  suspend_reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** The host that owns a local-driver machine (FLEET_HOST_ID); only its workers work on the fleet's runs. */
  machine_host: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** What a run was asked with, besides its kind (domain/run-kinds.ts). */
export interface RunOptions {
  /** A suspension's reason (shown in the log). */
  reason?: string;
  /** Who asked for it, as the audit log says it (`platform`, `user:<id>`). */
  actor?: string;
  /** A deprovision that removes the tenant too (DELETE /api/tenants/{id}). */
  removeTenant?: boolean;
}

export interface ProvisionRunsTable {
  id: string;
  fleet_id: string;
  kind: RunKind;
  /** A retry of the kind's failed run: it keeps the kind's checkpoints and resumes at the failed step. */
  retry: ColumnType<boolean, boolean | undefined, boolean>;
  options: JSONColumnType<RunOptions, string | undefined, string>;
  /** Who asked to cancel it (`platform`, `user:<id>`); the worker stops at its next safe point. */
  cancel_requested_by: ColumnType<string | null, string | null | undefined, string | null>;
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
  kind: ColumnType<RunKind, RunKind | undefined, RunKind>;
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
  /** The tenant's slug when the entry was written: a deleted tenant's audit is still found by it. */
  tenant_slug: ColumnType<string | null, string | null | undefined, string | null>;
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

export interface ClerkWebhookDeliveriesTable {
  svix_id: string;
  type: string;
  received_at: Generated<Timestamp>;
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
  clerk_webhook_deliveries: ClerkWebhookDeliveriesTable;
  fleet_health: FleetHealthTable;
  orphan_machines: OrphanMachinesTable;
  warm_gateways: WarmGatewaysTable;
}

export interface FleetHealthTable {
  fleet_id: string;
  report: JSONColumnType<FleetHealthReport, string, string>;
  failed_checks: number;
  checked_at: Timestamp;
}

/** A machine labelled as ours that no fleet owns, as the reconciler stores it. */
export interface OrphanMachineRecord {
  driver: string;
  name: string;
  /** Where it is: a directory under the data dir, a zone. */
  where: string;
}

export interface OrphanMachinesTable {
  one: Generated<boolean>;
  machines: JSONColumnType<OrphanMachineRecord[], string, string>;
  checked_at: Timestamp;
}

export type WarmGatewayState = 'starting' | 'ready' | 'claimed';

export interface WarmGatewaysTable {
  id: string;
  host_id: string;
  state: WarmGatewayState;
  root: string;
  port: number;
  os_user: string | null;
  pid: number | null;
  token_ciphertext: Buffer;
  owner_pid: number;
  fleet_id: string | null;
  run_id: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
  /** Pooled VMs (migration 0016): the starting process's host, the VM, its key and pinned host key. */
  owner_host: string | null;
  vm_name: string | null;
  zone: string | null;
  ip: string | null;
  ssh_key_ciphertext: Buffer | null;
  ssh_host_key: string | null;
}
