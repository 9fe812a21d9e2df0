import { sql } from 'kysely';
import type { RunKind } from '../domain/run-kinds.ts';
import type { Db } from './connection.ts';

/**
 * Step checkpoints, one per fleet, kind of run and step, with the step's position in the list that
 * wrote it (checked on replay). Written only by recordStepComplete (step-complete.ts), with the
 * step's log entry, in one statement.
 */
export interface Checkpoint {
  kind: RunKind;
  step: string;
  position: number;
  output: Record<string, unknown>;
}

/** The fleet's checkpoints of the given kinds (a lifecycle run reads the provision's too: the machine). */
export async function listCheckpoints(db: Db, fleetId: string, kinds: readonly RunKind[] = ['provision']): Promise<Checkpoint[]> {
  return db
    .selectFrom('step_checkpoints')
    .select(['kind', 'step', 'position', 'output'])
    .where('fleet_id', '=', fleetId)
    .where('kind', 'in', [...kinds])
    .execute();
}

/** Drops the provision checkpoints at `position` and after, so those steps run again; earlier ones keep theirs. */
export async function dropCheckpointsFrom(db: Db, fleetId: string, position: number): Promise<void> {
  await db
    .deleteFrom('step_checkpoints')
    .where('fleet_id', '=', fleetId)
    .where('kind', '=', 'provision')
    .where('position', '>=', position)
    .execute();
}

/** Drops every checkpoint of one kind: a new suspend (resume, …) starts from its first step. */
export async function dropKindCheckpoints(db: Db, fleetId: string, kind: RunKind): Promise<void> {
  await db.deleteFrom('step_checkpoints').where('fleet_id', '=', fleetId).where('kind', '=', kind).execute();
}

/**
 * A machine's new address after it was started again (a VM's ephemeral IP changes with a stop):
 * written into vm_create's checkpoint, which every later run reaches the machine by.
 */
export async function updateMachineAddress(db: Db, fleetId: string, ip: string): Promise<void> {
  await db
    .updateTable('step_checkpoints')
    .set({ output: sql`jsonb_set(output, '{ip}', to_jsonb(${ip}::text))` })
    .where('fleet_id', '=', fleetId)
    .where('kind', '=', 'provision')
    .where('step', '=', 'vm_create')
    .execute();
}

/**
 * A reprovision's end: the steps it rebuilt the fleet with become the fleet's provision
 * checkpoints (at their positions in the provision list, `offset` earlier), replacing the old
 * machine's, and its teardown's are dropped. Later runs (suspend, reconfigure, …) reach the new machine.
 */
export async function adoptRebuiltCheckpoints(trx: Db, fleetId: string, rebuilt: readonly string[], offset: number): Promise<void> {
  await trx.deleteFrom('step_checkpoints').where('fleet_id', '=', fleetId).where('kind', '=', 'provision').execute();
  await trx
    .updateTable('step_checkpoints')
    .set({ kind: 'provision', position: sql<number>`position - ${offset}` })
    .where('fleet_id', '=', fleetId)
    .where('kind', '=', 'reprovision')
    .where('step', 'in', [...rebuilt])
    .execute();
  await trx.deleteFrom('step_checkpoints').where('fleet_id', '=', fleetId).where('kind', '=', 'reprovision').execute();
}
