import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { adminQuery } from '../../test/harness/db.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createDb, migrateToLatest, SchemaBehindError } from '../db/connection.ts';
import { createLogger } from '../observability/logger.ts';
import { openDatabase } from './database.ts';

/**
 * `serve` and `worker` never migrate a shared database on start: the deploy step (`fleet migrate`)
 * does, once, and every other process refuses to run on a schema older than its code.
 */
const admin = inject('adminDatabaseUrl');
const name = `fleet_schema_${randomBytes(5).toString('hex')}`;
const url = (() => {
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
})();
const config = () => loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' });

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE ${name}`);
  const { db } = createDb(url, { max: 1 });
  await migrateToLatest(db, '0004_run_attempts'); // a database of an older release
  await db.destroy();
});
afterAll(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

describe('the schema at start', () => {
  it('refuses a database behind this version, naming what is pending and the command that fixes it', async () => {
    const failure = await openDatabase(config(), createLogger('silent'), { attach: false, schema: 'check' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SchemaBehindError);
    expect((failure as Error).message).toMatch(
      /not applied: 0005_gateway_ports, 0006_run_requester, 0007_watchdog_index.*Run `fleet migrate`/,
    );
    // Nothing was applied by the refused start.
    const { db } = createDb(url, { max: 1 });
    const applied = await db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute();
    await db.destroy();
    expect(applied).toHaveLength(4);
  });

  it('lets concurrent `fleet migrate` runs apply each migration once, then starts', async () => {
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: url, LOG_LEVEL: 'warn' };
    const results = await Promise.all([1, 2, 3].map(() => run(process.execPath, ['bin/fleet.js', 'migrate'], { env })));
    for (const r of results) expect(r.stdout).toContain('database is up to date');
    const opened = await openDatabase(config(), createLogger('silent'), { attach: false, schema: 'check' });
    const rows = await opened.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute();
    await opened.close();
    expect(new Set(rows.map((r) => (r as { name: string }).name)).size).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(6);
  }, 60_000);
});
