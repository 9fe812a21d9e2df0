import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/db/connection.ts';

/** A fresh, migrated database for one test file (a clone of the run's template database). */
export interface TestDatabase {
  db: Db;
  pool: pg.Pool;
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `fleet_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const { db, pool } = createDb(url.toString());
  return {
    db,
    pool,
    url: url.toString(),
    name,
    drop: async () => {
      await db.destroy();
      const c = new pg.Client(adminUrl);
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** One statement on the test server as its admin (CREATE/DROP DATABASE, which no pool may hold). */
export async function adminQuery(text: string): Promise<void> {
  const c = new pg.Client(inject('adminDatabaseUrl'));
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}
