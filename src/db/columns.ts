import type { FleetsTable, ProvisionRunsTable, TenantsTable } from './schema.ts';

/**
 * Every column of the tables read whole, named one by one instead of `*`: a statement with `*` is
 * never prepared (prepared-statements.ts), because an expand migration adding a column would
 * change its row type under the running process. The compiler refuses a list that misses a
 * column of the table's type, so a column added to schema.ts is added here too.
 */
type Missing<T, C extends readonly string[]> = Exclude<keyof T & string, C[number]>;

function everyColumn<T>() {
  return <const C extends readonly (keyof T & string)[]>(
    columns: C & ([Missing<T, C>] extends [never] ? unknown : { missingColumns: Missing<T, C> }),
  ): C => columns;
}

export const TENANT_COLUMNS = everyColumn<TenantsTable>()([
  'id',
  'seq',
  'slug',
  'name',
  'plan',
  'kind',
  'clerk_org_id',
  'clerk_user_id',
  'created_at',
  'updated_at',
]);

export const FLEET_COLUMNS = everyColumn<FleetsTable>()([
  'id',
  'tenant_id',
  'status',
  'template_id',
  'dashboard_url',
  'agents',
  'repos',
  'machine',
  'compute_driver',
  'ssh_host_key',
  'settings',
  'desired_state',
  'suspended_by',
  'suspend_reason',
  'machine_host',
  'created_at',
  'updated_at',
]);

export const RUN_COLUMNS = everyColumn<ProvisionRunsTable>()([
  'id',
  'fleet_id',
  'kind',
  'retry',
  'options',
  'cancel_requested_by',
  'status',
  'worker',
  'error',
  'failed_step',
  'created_at',
  'started_at',
  'heartbeat_at',
  'finished_at',
  'attempts',
  'last_crash',
  'requested_by',
]);

/** The same columns named through a table alias (`t.id`, …), for joins. */
export function qualified<const A extends string, const C extends readonly string[]>(alias: A, columns: C): `${A}.${C[number]}`[] {
  return columns.map((c) => `${alias}.${c}` as `${A}.${C[number]}`);
}
