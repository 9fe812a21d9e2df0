import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { TestProject } from 'vitest/node';
import { createDb, migrateToLatest } from '../src/db/connection.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';

/**
 * One PostgreSQL for the whole run — `TEST_DATABASE_URL` when set, otherwise an embedded cluster in
 * a temp dir — with a migrated template database that every test file clones (test/harness/db.ts).
 */
export const TEMPLATE_DB = 'fleet_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  // Never DATABASE_URL: the tests create and drop databases, which must not happen on the
  // application's server by accident (a developer's shell often has it set).
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  if (!adminUrl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-test-pg-'));
    const quiet = { info: () => {}, warn: (m: string) => console.warn(m), debug: () => {} };
    const embedded = await startEmbeddedPostgres({ dataDir: dir, log: quiet, unsafeFast: true });
    adminUrl = embedded.adminUrl;
    stop = embedded.stop;
  }
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB}`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE_DB}`;
  const { db } = createDb(templateUrl.toString(), { max: 1 });
  await migrateToLatest(db);
  await db.destroy();
  // pg-boss makes its schema on first start: do it once here so every cloned database has it.
  const boss = new PgBoss({ connectionString: templateUrl.toString(), schema: 'pgboss', supervise: false, schedule: false });
  await boss.start();
  await boss.stop({ graceful: false, wait: true });

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', TEMPLATE_DB);
  return async () => {
    await stop?.();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
}
