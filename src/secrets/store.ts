import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import type { SecretBox } from './secret-box.ts';

/** Encrypted per-fleet secrets (fleet_secrets). Works on a Kysely db or transaction. */

const context = (fleetId: string, name: string) => `${fleetId}/${name}`;

export async function putSecrets(db: Db, box: SecretBox, fleetId: string, values: Record<string, string>): Promise<void> {
  const rows = Object.entries(values).map(([name, value]) => ({ fleet_id: fleetId, name, ciphertext: box.seal(value, context(fleetId, name)) }));
  if (rows.length === 0) return;
  await db
    .insertInto('fleet_secrets')
    .values(rows)
    .onConflict((oc) => oc.columns(['fleet_id', 'name']).doUpdateSet({ ciphertext: (eb) => eb.ref('excluded.ciphertext'), updated_at: sql`now()` }))
    .execute();
}

/** Stores `value` unless the secret exists; returns what is stored (idempotent generation). */
export async function putSecretIfAbsent(db: Db, box: SecretBox, fleetId: string, name: string, value: string): Promise<string> {
  await db
    .insertInto('fleet_secrets')
    .values({ fleet_id: fleetId, name, ciphertext: box.seal(value, context(fleetId, name)) })
    .onConflict((oc) => oc.columns(['fleet_id', 'name']).doNothing())
    .execute();
  const row = await db.selectFrom('fleet_secrets').select('ciphertext').where('fleet_id', '=', fleetId).where('name', '=', name).executeTakeFirstOrThrow();
  return box.open(row.ciphertext, context(fleetId, name));
}

export async function getSecrets(db: Db, box: SecretBox, fleetId: string): Promise<Record<string, string>> {
  const rows = await db.selectFrom('fleet_secrets').select(['name', 'ciphertext']).where('fleet_id', '=', fleetId).execute();
  return Object.fromEntries(rows.map((r) => [r.name, box.open(r.ciphertext, context(fleetId, r.name))]));
}

export async function deleteSecrets(db: Db, fleetId: string, names?: string[]): Promise<void> {
  let q = db.deleteFrom('fleet_secrets').where('fleet_id', '=', fleetId);
  if (names) q = q.where('name', 'in', names);
  await q.execute();
}
