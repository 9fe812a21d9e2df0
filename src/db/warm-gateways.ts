import { type Selectable, sql } from 'kysely';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { Db } from './connection.ts';
import type { WarmGatewayState, WarmGatewaysTable } from './schema.ts';

/**
 * The warm pool's rows (table warm_gateways, migration 0015): one per pooled gateway of a host.
 * The token is sealed with the secrets box, bound to the row's id, and opened only by a claim.
 */
export interface WarmGateway {
  id: string;
  hostId: string;
  state: WarmGatewayState;
  root: string;
  port: number;
  osUser: string | null;
  pid: number | null;
  ownerPid: number;
  fleetId: string | null;
  runId: string | null;
  /** Seconds since the row last changed state. */
  ageSeconds: number;
}

const tokenContext = (id: string) => `warm_gateways/${id}`;

const COLUMNS = [
  'id',
  'host_id',
  'state',
  'root',
  'port',
  'os_user',
  'pid',
  'owner_pid',
  'fleet_id',
  'run_id',
  sql<number>`extract(epoch FROM now() - updated_at)::float8`.as('age_seconds'),
] as const;

/** A row as COLUMNS selects it: the table's columns but the token and timestamps, with its age. */
type Row = Omit<Selectable<WarmGatewaysTable>, 'token_ciphertext' | 'created_at' | 'updated_at'> & { age_seconds: number };

const toWarmGateway = (r: Row): WarmGateway => ({
  id: r.id,
  hostId: r.host_id,
  state: r.state,
  root: r.root,
  port: r.port,
  osUser: r.os_user,
  pid: r.pid,
  ownerPid: r.owner_pid,
  fleetId: r.fleet_id,
  runId: r.run_id,
  ageSeconds: r.age_seconds,
});

/**
 * Reserves up to `want - (starting + ready)` new `starting` rows for the host, under a per-host
 * lock so two processes filling the same host at once do not both top it up. Returns how many
 * the caller should start (it then calls insertStarting for each).
 */
export async function reserveFill(db: Db, hostId: string, want: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`warm-pool:${hostId}`}, 0))`.execute(trx);
    const { n } = await trx
      .selectFrom('warm_gateways')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('host_id', '=', hostId)
      .where('state', 'in', ['starting', 'ready'])
      .executeTakeFirstOrThrow();
    return Math.max(0, want - Number(n));
  });
}

/** Records a gateway about to be started; false when the host's pool is full meanwhile (or the port is taken). */
export async function insertStarting(
  db: Db,
  box: SecretBox,
  row: { id: string; hostId: string; root: string; port: number; osUser: string | undefined; token: string; want: number },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`warm-pool:${row.hostId}`}, 0))`.execute(trx);
    const { n } = await trx
      .selectFrom('warm_gateways')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('host_id', '=', row.hostId)
      .where('state', 'in', ['starting', 'ready'])
      .executeTakeFirstOrThrow();
    if (Number(n) >= row.want) return false;
    const inserted = await trx
      .insertInto('warm_gateways')
      .values({
        id: row.id,
        host_id: row.hostId,
        state: 'starting',
        root: row.root,
        port: row.port,
        os_user: row.osUser ?? null,
        token_ciphertext: box.seal(row.token, tokenContext(row.id)),
        owner_pid: process.pid,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
  });
}

/** starting → ready, with the gateway's pid. False when the row is gone (reaped, or the process is stopping). */
export async function markReady(db: Db, id: string, pid: number | undefined): Promise<boolean> {
  const res = await db
    .updateTable('warm_gateways')
    .set({ state: 'ready', pid: pid ?? null, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('state', '=', 'starting')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/**
 * Takes the oldest ready gateway of the host for the fleet, in one statement: two claims at once
 * never get the same one (SKIP LOCKED passes over a row another claim holds). Returns it with
 * its token, or undefined when none is ready.
 */
export async function claimReady(
  db: Db,
  box: SecretBox,
  claim: { hostId: string; fleetId: string; runId: string },
): Promise<{ gateway: WarmGateway; token: string } | undefined> {
  const { rows } = await sql<Row & { token_ciphertext: Buffer }>`
    UPDATE warm_gateways SET state = 'claimed', fleet_id = ${claim.fleetId}, run_id = ${claim.runId}, updated_at = now()
    WHERE id = (
      SELECT id FROM warm_gateways
      WHERE host_id = ${claim.hostId} AND state = 'ready'
      ORDER BY created_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id, host_id, state, root, port, os_user, pid, owner_pid, fleet_id, run_id, 0::float8 AS age_seconds, token_ciphertext`.execute(
    db,
  );
  const row = rows[0];
  if (!row) return undefined;
  return { gateway: toWarmGateway(row), token: box.open(row.token_ciphertext, tokenContext(row.id)) };
}

/** The gateway claimed for the fleet (by a run that may have died half-way), with its token. */
export async function claimedBy(db: Db, box: SecretBox, fleetId: string): Promise<{ gateway: WarmGateway; token: string } | undefined> {
  const row = await db
    .selectFrom('warm_gateways')
    .select([...COLUMNS, 'token_ciphertext'])
    .where('fleet_id', '=', fleetId)
    .where('state', '=', 'claimed')
    .executeTakeFirst();
  if (!row) return undefined;
  return { gateway: toWarmGateway(row as Row), token: box.open(row.token_ciphertext, tokenContext(row.id)) };
}

/** Every row of the host, oldest first. */
export async function listOfHost(db: Db, hostId: string): Promise<WarmGateway[]> {
  const rows = await db.selectFrom('warm_gateways').select(COLUMNS).where('host_id', '=', hostId).orderBy('created_at').execute();
  return (rows as Row[]).map(toWarmGateway);
}

/** Drops the row; with `state`, only while it is still in that state (a claim may have taken it meanwhile). */
export async function deleteWarmGateway(db: Db, id: string, state?: WarmGatewayState): Promise<boolean> {
  let q = db.deleteFrom('warm_gateways').where('id', '=', id);
  if (state) q = q.where('state', '=', state);
  const res = await q.executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

/** How many pooled gateways of the host are ready to be claimed (the fleet_warm_pool_ready gauge). */
export async function countReady(db: Db, hostId: string): Promise<number> {
  const { n } = await db
    .selectFrom('warm_gateways')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('host_id', '=', hostId)
    .where('state', '=', 'ready')
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** Fleets that still exist among `ids` (a claimed row whose fleet is gone is reaped). */
export async function existingFleets(db: Db, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('fleets').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}
