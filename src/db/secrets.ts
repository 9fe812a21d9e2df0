import { type Kysely, sql, type Transaction } from 'kysely';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { Database } from './schema.ts';

/**
 * Encrypted per-fleet secrets (table fleet_secrets). Every function takes a database or a
 * transaction, so a secret can be written in the same transaction as the fleet it belongs to.
 */
export type SecretsDb = Kysely<Database> | Transaction<Database>;

/**
 * The authenticated context of a secret. Fleet ids are `flt_…` (no '/'), so `fleetId/name` is
 * unambiguous; it binds each ciphertext to its row.
 */
export const secretContext = (fleetId: string, name: string): string => `${fleetId}/${name}`;

/** Inserts or replaces the given secrets of a fleet. */
export async function putSecrets(db: SecretsDb, box: SecretBox, fleetId: string, values: Record<string, string>): Promise<void> {
  const rows = Object.entries(values).map(([name, value]) => ({
    fleet_id: fleetId,
    name,
    ciphertext: box.seal(value, secretContext(fleetId, name)),
  }));
  if (rows.length === 0) return;
  await db
    .insertInto('fleet_secrets')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['fleet_id', 'name']).doUpdateSet({ ciphertext: (eb) => eb.ref('excluded.ciphertext'), updated_at: sql`now()` }),
    )
    .execute();
}

/**
 * Stores `value` unless the secret exists, and returns what is stored: a step that generates a
 * token (the gateway's) and runs twice, or in two workers at once, ends up with one token.
 */
export async function putSecretIfAbsent(db: SecretsDb, box: SecretBox, fleetId: string, name: string, value: string): Promise<string> {
  // ON CONFLICT DO NOTHING waits for a concurrent inserter to commit; the SELECT, a new
  // statement, then sees whichever row won.
  await db
    .insertInto('fleet_secrets')
    .values({ fleet_id: fleetId, name, ciphertext: box.seal(value, secretContext(fleetId, name)) })
    .onConflict((oc) => oc.columns(['fleet_id', 'name']).doNothing())
    .execute();
  const row = await db
    .selectFrom('fleet_secrets')
    .select('ciphertext')
    .where('fleet_id', '=', fleetId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (!row) throw new Error(`secret ${secretContext(fleetId, name)} vanished right after it was stored (deleted concurrently?)`);
  return box.open(row.ciphertext, secretContext(fleetId, name));
}

/** All secrets of a fleet, decrypted; throws if any of them does not open. */
export async function getSecrets(db: SecretsDb, box: SecretBox, fleetId: string): Promise<Record<string, string>> {
  const rows = await db
    .selectFrom('fleet_secrets')
    .select(['name', 'ciphertext'])
    .where('fleet_id', '=', fleetId)
    .orderBy('name')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.name, box.open(r.ciphertext, secretContext(fleetId, r.name))]));
}

/** Deletes the named secrets of a fleet, or all of them when `names` is omitted (deprovisioning). */
export async function deleteSecrets(db: SecretsDb, fleetId: string, names?: string[]): Promise<void> {
  // An empty list means "none", not "all": `IN ()` is not valid SQL, and falling through would wipe everything.
  if (names && names.length === 0) return;
  let q = db.deleteFrom('fleet_secrets').where('fleet_id', '=', fleetId);
  if (names) q = q.where('name', 'in', names);
  await q.execute();
}

/** The names of a fleet's secrets (never their values): what a deprovision will destroy. */
export async function secretNames(db: SecretsDb, fleetId: string): Promise<string[]> {
  const rows = await db.selectFrom('fleet_secrets').select('name').where('fleet_id', '=', fleetId).orderBy('name').execute();
  return rows.map((r) => r.name);
}

/** How many secret rows a fleet has: the deprovision proof wants zero. */
export async function countSecrets(db: SecretsDb, fleetId: string): Promise<number> {
  const row = await db
    .selectFrom('fleet_secrets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('fleet_id', '=', fleetId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
