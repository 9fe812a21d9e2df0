import pg from 'pg';
import { adminUrl, APP_DATABASE, APP_ROLE, type EmbeddedCredentials } from './embedded-credentials.ts';
import { scramVerifier } from './scram-verifier.ts';

/**
 * Makes the embedded cluster's application role and database what they must be, at every start
 * (so a data dir of a previous version is upgraded in place, and a drifted one repaired):
 *
 * - role `fleet_app`: may log in, nothing more (no superuser, so no `COPY … PROGRAM`, no server
 *   files, no other roles); its password is the one in postgres.json, stored as a SCRAM verifier;
 * - database `fleet`, owned by it: our tables and pg-boss's schema live there, and belong to it;
 * - nobody but a superuser may connect to the cluster's other databases.
 *
 * Previous versions kept everything in the `postgres` database, owned by the superuser: that
 * database becomes `fleet` (and a new, empty `postgres` is made), and what it holds changes hands.
 */
export async function prepareAppDatabase(creds: EmbeddedCredentials): Promise<void> {
  const role = pg.escapeIdentifier(APP_ROLE);
  const database = pg.escapeIdentifier(APP_DATABASE);
  await withClient(adminUrl(creds, 'template1'), async (c) => {
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${pg.escapeLiteral(scramVerifier(creds.appPassword))}`;
    const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    await c.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${role} WITH ${attributes}`);

    const databases = new Set((await c.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname));
    if (!databases.has(APP_DATABASE)) {
      if (await holdsOurData(adminUrl(creds, 'postgres'))) {
        // The server was just started by us: nothing else is connected to `postgres` yet.
        await c.query(`ALTER DATABASE postgres RENAME TO ${database}`);
        await c.query('CREATE DATABASE postgres');
      } else {
        await c.query(`CREATE DATABASE ${database} OWNER ${role}`);
      }
    }
    await c.query(`ALTER DATABASE ${database} OWNER TO ${role}`);
    await c.query(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
    await c.query('REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC');
    await c.query('REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC');
  });
  await withClient(adminUrl(creds, APP_DATABASE), (c) => c.query(transferOwnership(APP_ROLE)));
}

async function holdsOurData(url: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ ours: boolean }>(
      `SELECT to_regclass('public.kysely_migration') IS NOT NULL
           OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pgboss') AS ours`,
    );
    return rows[0]?.ours === true;
  });
}

/**
 * Hands every schema, relation, routine and type of the database's own schemas to `owner`.
 * Indexes and the sequences behind identity/serial columns follow their table.
 */
function transferOwnership(owner: string): string {
  const to = pg.escapeIdentifier(owner);
  const own = `NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;
  return `DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n
            WHERE n.nspname ${own} AND n.nspname <> 'public' AND n.nspowner <> ${pg.escapeLiteral(owner)}::regrole LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO ${to}', r.nspname);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname ${own} AND c.relowner <> ${pg.escapeLiteral(owner)}::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${to}', r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname ${own} AND p.proowner <> ${pg.escapeLiteral(owner)}::regrole LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${to}', r.name);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname ${own} AND t.typowner <> ${pg.escapeLiteral(owner)}::regrole
              AND (t.typtype IN ('e', 'd', 'r', 'm')
                   OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')) LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO ${to}', r.name);
  END LOOP;
END $$`;
}

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}
