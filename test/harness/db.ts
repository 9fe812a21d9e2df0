import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/db/connection.ts';
import { insertTenantWithFleet } from '../../src/db/tenants.ts';
import { TemplateRegistry } from '../../src/templates/registry.ts';

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

/** Org tenants with a pending fleet each (straight into the database, as the platform's create would). */
export async function tenantsWithFleets(db: Db, slugs: string[]): Promise<Array<{ tenantId: string; fleetId: string }>> {
  const template = TemplateRegistry.load().get('solo-engineer')!;
  const made: Array<{ tenantId: string; fleetId: string }> = [];
  for (const slug of slugs) {
    const tenant = await insertTenantWithFleet(
      db,
      { slug, name: slug, plan: 'free', clerkOrgId: `org_${slug.replace(/_/g, '')}`, clerkUserId: null },
      template,
      { actor: 't', detail: {} },
    );
    const fleet = await db.selectFrom('fleets').select('id').where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
    made.push({ tenantId: tenant.id, fleetId: fleet.id });
  }
  return made;
}
