import type { Db } from './connection.ts';

/**
 * Step checkpoints, one per fleet and step, with the step's position in the list that wrote it
 * (checked on replay). Written only by recordStepComplete (step-complete.ts), with the step's log
 * entry, in one statement.
 */
export interface Checkpoint {
  step: string;
  position: number;
  output: Record<string, unknown>;
}

export async function listCheckpoints(db: Db, fleetId: string): Promise<Checkpoint[]> {
  return db.selectFrom('step_checkpoints').select(['step', 'position', 'output']).where('fleet_id', '=', fleetId).execute();
}

/** Drops the checkpoints at `position` and after, so those steps run again; earlier ones keep theirs. */
export async function dropCheckpointsFrom(db: Db, fleetId: string, position: number): Promise<void> {
  await db.deleteFrom('step_checkpoints').where('fleet_id', '=', fleetId).where('position', '>=', position).execute();
}
