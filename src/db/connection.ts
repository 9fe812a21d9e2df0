import { Kysely, type Migration, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import * as initial from './migrations/0001_initial.ts';
import * as fleetAgentsAndMachine from './migrations/0002_fleet_agents_and_machine.ts';
import * as fleetComputeDriver from './migrations/0003_fleet_compute_driver.ts';
import * as runAttempts from './migrations/0004_run_attempts.ts';
import * as gatewayPorts from './migrations/0005_gateway_ports.ts';
import * as runRequester from './migrations/0006_run_requester.ts';
import * as watchdogIndex from './migrations/0007_watchdog_index.ts';
import * as eventsHorizon from './migrations/0008_events_horizon.ts';
import * as fleetLifecycle from './migrations/0009_fleet_lifecycle.ts';
import * as fleetMachineHost from './migrations/0010_fleet_machine_host.ts';
import * as clerkWebhookDeliveries from './migrations/0011_clerk_webhook_deliveries.ts';
import * as runKindReprovision from './migrations/0012_run_kind_reprovision.ts';
import * as fleetViewIndexes from './migrations/0013_fleet_view_indexes.ts';
import * as fleetHealth from './migrations/0014_fleet_health.ts';
import * as warmGateways from './migrations/0015_warm_gateways.ts';
import * as warmGcpVms from './migrations/0016_warm_gcp_vms.ts';
import { PreparingClient } from './prepared-statements.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

// bigint (COUNT(*), bigserial ids) comes back as a string; our counts and ids fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Migrations in order; a static list so the bundle needs no directory scan. */
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_fleet_agents_and_machine': fleetAgentsAndMachine,
  '0003_fleet_compute_driver': fleetComputeDriver,
  '0004_run_attempts': runAttempts,
  '0005_gateway_ports': gatewayPorts,
  '0006_run_requester': runRequester,
  '0007_watchdog_index': watchdogIndex,
  '0008_events_horizon': eventsHorizon,
  '0009_fleet_lifecycle': fleetLifecycle,
  '0010_fleet_machine_host': fleetMachineHost,
  '0011_clerk_webhook_deliveries': clerkWebhookDeliveries,
  '0012_run_kind_reprovision': runKindReprovision,
  '0013_fleet_view_indexes': fleetViewIndexes,
  '0014_fleet_health': fleetHealth,
  '0015_warm_gateways': warmGateways,
  '0016_warm_gcp_vms': warmGcpVms,
};

/** `preparedStatements` (default true): see prepared-statements.ts. */
export function createDb(url: string, options: { max?: number; preparedStatements?: boolean } = {}): { db: Db; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    ...(options.preparedStatements === false ? {} : { Client: PreparingClient }),
  });
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}

/**
 * Applies every pending migration (or those up to `upTo`, for tests of a migration); throws with the
 * failing migration's name. (`any`: it works on any schema.)
 */
// biome-ignore lint/suspicious/noExplicitAny: the migrator runs before (and regardless of) our schema types
export async function migrateToLatest(db: Kysely<any>, upTo?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo);
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
  return (results ?? []).map((r) => r.migrationName);
}

/** The database's schema is older than this build's: the deploy step (`fleet migrate`) has not run. */
export class SchemaBehindError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `The database schema is behind this version of Agent Fleet (${pending.length} migration${pending.length > 1 ? 's' : ''} ` +
        `not applied: ${pending.join(', ')}). Run \`fleet migrate\` (the deploy step) against this database, then start again.`,
    );
    this.name = 'SchemaBehindError';
  }
}

/**
 * Checks that every migration this build knows is applied; throws SchemaBehindError naming the
 * pending ones. Migrations the database has and this build does not know are fine: a newer
 * release expanded the schema, and expand/contract keeps the older code working on it.
 */
// biome-ignore lint/suspicious/noExplicitAny: as migrateToLatest
export async function checkSchema(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const pending = (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
  if (pending.length > 0) throw new SchemaBehindError(pending);
}
