import { type Selectable, sql } from 'kysely';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { Db } from './connection.ts';
import { localPortHeld, lockLocalPort } from './gateway-ports.ts';
import type { WarmGatewayState, WarmGatewaysTable } from './schema.ts';

/**
 * The warm pool's rows (table warm_gateways, migrations 0015 and 0016): one per pooled gateway
 * of a host, or per pooled VM of a GCP zone. The token (and a VM's SSH key) is sealed with the
 * secrets box, bound to the row's id, and opened only by a claim or the pool that starts it.
 */
export interface WarmGateway {
  id: string;
  /** The pool the row is counted in: a host's id, or `gcp:<zone>` for pooled VMs. */
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
  /** The host of the process that started it (a pooled VM's; a local row's is hostId). */
  ownerHost: string | null;
  /** A pooled VM's name, zone, external IP (once created) and SSH host key (once first reached). */
  vmName: string | null;
  zone: string | null;
  ip: string | null;
  sshHostKey: string | null;
}

/** The pool of pooled VMs in a GCP zone (warm_gateways.host_id). */
export const gcpPoolOf = (zone: string): string => `gcp:${zone}`;

const tokenContext = (id: string) => `warm_gateways/${id}`;
const sshKeyContext = (id: string) => `warm_gateways/${id}/ssh_key`;
const keys = (hostId: string | readonly string[]): string[] => (typeof hostId === 'string' ? [hostId] : [...hostId]);

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
  'owner_host',
  'vm_name',
  'zone',
  'ip',
  'ssh_host_key',
  sql<number>`extract(epoch FROM now() - updated_at)::float8`.as('age_seconds'),
] as const;

/** A row as COLUMNS selects it: the table's columns but the secrets and timestamps, with its age. */
type Row = Omit<Selectable<WarmGatewaysTable>, 'token_ciphertext' | 'ssh_key_ciphertext' | 'created_at' | 'updated_at'> & {
  age_seconds: number;
};

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
  ownerHost: r.owner_host,
  vmName: r.vm_name,
  zone: r.zone,
  ip: r.ip,
  sshHostKey: r.ssh_host_key,
});

/** What a claim hands over: the row, its token and, for a pooled VM, the pool's SSH key. */
export interface ClaimedWarmGateway {
  gateway: WarmGateway;
  token: string;
  sshKey: string | undefined;
}

const opened = (box: SecretBox, row: Row & { token_ciphertext: Buffer; ssh_key_ciphertext: Buffer | null }): ClaimedWarmGateway => ({
  gateway: toWarmGateway(row),
  token: box.open(row.token_ciphertext, tokenContext(row.id)),
  sshKey: row.ssh_key_ciphertext ? box.open(row.ssh_key_ciphertext, sshKeyContext(row.id)) : undefined,
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

/** Records a gateway about to be started; false when the host's pool is full meanwhile (or the port is taken, by a pooled gateway or a fleet). */
export async function insertStarting(
  db: Db,
  box: SecretBox,
  row: {
    id: string;
    hostId: string;
    root: string;
    port: number;
    osUser: string | undefined;
    token: string;
    want: number;
    /** A pooled VM: recorded before it is inserted, so a VM of the pool never exists without its row. */
    vm?: { name: string; zone: string; sshKey: string; ownerHost: string };
  },
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
    // A local gateway's port was free when it was chosen, but a fleet may hold it while its own
    // gateway is down (stopped, between steps): it would find the port taken when it starts again.
    if (!row.vm) {
      await lockLocalPort(trx, row.port);
      if (await localPortHeld(trx, row.port)) return false;
    }
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
        owner_host: row.vm?.ownerHost ?? null,
        vm_name: row.vm?.name ?? null,
        zone: row.vm?.zone ?? null,
        ssh_key_ciphertext: row.vm ? box.seal(row.vm.sshKey, sshKeyContext(row.id)) : null,
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

/** A pooled VM's external IP, once its insert is done (before its gateway starts). */
export async function recordVmIp(db: Db, id: string, ip: string): Promise<void> {
  await db.updateTable('warm_gateways').set({ ip }).where('id', '=', id).execute();
}

/** The SSH host key of a pooled VM, pinned at the pool's first contact (a claim hands it to the fleet). */
export async function pinWarmHostKey(db: Db, id: string, fingerprint: string): Promise<void> {
  await db.updateTable('warm_gateways').set({ ssh_host_key: fingerprint }).where('id', '=', id).where('ssh_host_key', 'is', null).execute();
}

/**
 * Takes the oldest ready gateway of the host (or of the first of several pools that has one: a
 * GCP fleet's zones, in order) for the fleet, in one statement: two claims at once never get the
 * same one (SKIP LOCKED passes over a row another claim holds). Returns it with its secrets, or
 * undefined when none is ready.
 */
export async function claimReady(
  db: Db,
  box: SecretBox,
  claim: { hostId: string | readonly string[]; fleetId: string; runId: string },
): Promise<ClaimedWarmGateway | undefined> {
  const pools = keys(claim.hostId);
  const { rows } = await sql<Row & { token_ciphertext: Buffer; ssh_key_ciphertext: Buffer | null }>`
    UPDATE warm_gateways SET state = 'claimed', fleet_id = ${claim.fleetId}, run_id = ${claim.runId}, updated_at = now()
    WHERE id = (
      SELECT id FROM warm_gateways
      WHERE host_id = ANY(${pools}::text[]) AND state = 'ready'
      ORDER BY array_position(${pools}::text[], host_id), created_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id, host_id, state, root, port, os_user, pid, owner_pid, fleet_id, run_id, owner_host, vm_name, zone, ip, ssh_host_key,
      0::float8 AS age_seconds, token_ciphertext, ssh_key_ciphertext`.execute(db);
  const row = rows[0];
  return row ? opened(box, row) : undefined;
}

/** The gateway claimed for the fleet (by a run that may have died half-way), with its secrets. */
export async function claimedBy(db: Db, box: SecretBox, fleetId: string): Promise<ClaimedWarmGateway | undefined> {
  const row = await db
    .selectFrom('warm_gateways')
    .select([...COLUMNS, 'token_ciphertext', 'ssh_key_ciphertext'])
    .where('fleet_id', '=', fleetId)
    .where('state', '=', 'claimed')
    .executeTakeFirst();
  return row ? opened(box, row as Row & { token_ciphertext: Buffer; ssh_key_ciphertext: Buffer | null }) : undefined;
}

/** Every row of the host (or of several pools), oldest first. */
export async function listOfHost(db: Db, hostId: string | readonly string[]): Promise<WarmGateway[]> {
  const rows = await db.selectFrom('warm_gateways').select(COLUMNS).where('host_id', 'in', keys(hostId)).orderBy('created_at').execute();
  return (rows as Row[]).map(toWarmGateway);
}

/** The names of every pooled VM that has a row: the orphan check leaves them be. */
export async function pooledVmNames(db: Db): Promise<Set<string>> {
  const rows = await db.selectFrom('warm_gateways').select('vm_name').where('vm_name', 'is not', null).execute();
  return new Set(rows.map((r) => r.vm_name!));
}

/** Drops the row; with `state`, only while it is still in that state (a claim may have taken it meanwhile). */
export async function deleteWarmGateway(db: Db, id: string, state?: WarmGatewayState): Promise<boolean> {
  let q = db.deleteFrom('warm_gateways').where('id', '=', id);
  if (state) q = q.where('state', '=', state);
  const res = await q.executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

/** How many pooled gateways of the host (or of several pools) are ready to be claimed (the fleet_warm_pool_ready gauge). */
export async function countReady(db: Db, hostId: string | readonly string[]): Promise<number> {
  const { n } = await db
    .selectFrom('warm_gateways')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('host_id', 'in', keys(hostId))
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
