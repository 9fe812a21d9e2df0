import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { adminQuery } from '../../../test/harness/db.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { TemplateRegistry } from '../../templates/registry.ts';
import { createDb, type Db, migrateToLatest } from '../connection.ts';

/** Migrations run on a database holding data of the version before them. */
const admin = inject('adminDatabaseUrl');
const name = `fleet_migr_${randomBytes(5).toString('hex')}`;
let db: Db;

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  db = createDb(url.toString(), { max: 2 }).db;
});
afterAll(async () => {
  await db.destroy();
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

describe('0002_fleet_agents_and_machine', () => {
  it("copies each fleet's agents from its template, keeps unknown ones, and moves gcp_resources to a driver-terms machine", async () => {
    await migrateToLatest(db, '0001_initial');
    await sql`
      INSERT INTO tenants (id, slug, name, plan, kind, clerk_org_id) VALUES
        ('tnt_a', 'a', 'A', 'free', 'org', 'org_a'), ('tnt_b', 'b', 'B', 'free', 'org', 'org_b');
      INSERT INTO fleets (id, tenant_id, status, template_id, agent_specs, repos, gcp_resources) VALUES
        ('flt_a', 'tnt_a', 'active', 'solo-engineer', '[{"name":"cantona","role":"engineer"}]', '[]',
         '{"vmName":"fleet-a","zone":"local","ip":"127.0.0.1"}'),
        ('flt_b', 'tnt_b', 'pending', 'gone-template', '[{"name":"ghost","role":"ops"}]', '[]', NULL);
    `.execute(db);

    expect(await migrateToLatest(db, '0002_fleet_agents_and_machine')).toEqual(['0002_fleet_agents_and_machine']);

    const rows = await db.selectFrom('fleets').select(['id', 'agents', 'machine']).orderBy('id').execute();
    const cantona = TemplateRegistry.load().get('solo-engineer')!.agents[0]!;
    expect(rows[0]).toEqual({
      id: 'flt_a',
      agents: [
        { name: 'cantona', displayName: cantona.displayName, role: 'engineer', description: cantona.description, persona: cantona.persona },
      ],
      machine: { driver: 'local', name: 'fleet-a', zone: null, ip: '127.0.0.1' },
    });
    expect(rows[1]).toEqual({
      id: 'flt_b',
      agents: [
        { name: 'ghost', displayName: 'ghost', role: 'ops', description: 'The ops of this fleet.', persona: expect.stringMatching(/ops/) },
      ],
      machine: null,
    });
  });
});

describe('0003_fleet_compute_driver', () => {
  it('gives every existing fleet the local driver and no pinned host key', async () => {
    expect(await migrateToLatest(db, '0003_fleet_compute_driver')).toEqual(['0003_fleet_compute_driver']);
    const rows = await db.selectFrom('fleets').select(['id', 'compute_driver', 'ssh_host_key']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: 'flt_a', compute_driver: 'local', ssh_host_key: null },
      { id: 'flt_b', compute_driver: 'local', ssh_host_key: null },
    ]);
  });
});

describe('0009_fleet_lifecycle', () => {
  it('turns retry runs into provision retries, keys checkpoints by kind, and gives audit entries their slug', async () => {
    expect(await migrateToLatest(db, '0006_run_requester')).toEqual(['0004_run_attempts', '0005_gateway_ports', '0006_run_requester']);
    await sql`
      INSERT INTO provision_runs (id, fleet_id, kind, status) VALUES ('run_1', 'flt_a', 'provision', 'error'), ('run_2', 'flt_a', 'retry', 'complete');
      INSERT INTO step_checkpoints (fleet_id, step, position, run_id, output) VALUES ('flt_a', 'vm_create', 0, 'run_1', '{}');
      INSERT INTO audit_log (tenant_id, actor, action) VALUES ('tnt_a', 'platform', 'tenant.create'), (NULL, 'platform', 'x');
    `.execute(db);
    expect(await migrateToLatest(db, '0009_fleet_lifecycle')).toEqual([
      '0007_watchdog_index',
      '0008_events_horizon',
      '0009_fleet_lifecycle',
    ]);
    const runs = await db.selectFrom('provision_runs').select(['id', 'kind', 'retry', 'options']).orderBy('id').execute();
    expect(runs).toEqual([
      { id: 'run_1', kind: 'provision', retry: false, options: {} },
      { id: 'run_2', kind: 'provision', retry: true, options: {} },
    ]);
    expect(await db.selectFrom('step_checkpoints').select(['kind', 'step']).execute()).toEqual([{ kind: 'provision', step: 'vm_create' }]);
    // A resume's gateway step may now sit beside the provision's of the same name.
    await sql`INSERT INTO step_checkpoints (fleet_id, kind, step, position, run_id, output) VALUES ('flt_a', 'resume', 'vm_create', 0, 'run_2', '{}')`.execute(
      db,
    );
    expect(await db.selectFrom('audit_log').select(['tenant_slug']).orderBy('id').execute()).toEqual([
      { tenant_slug: 'a' },
      { tenant_slug: null },
    ]);
    expect(await db.selectFrom('fleets').select(['id', 'desired_state']).orderBy('id').execute()).toEqual([
      { id: 'flt_a', desired_state: 'running' },
      { id: 'flt_b', desired_state: 'running' },
    ]);
  });
});

describe('0007_watchdog_index', () => {
  it('indexes only live runs, by status and heartbeat, for the watchdog', async () => {
    await migrateToLatest(db); // applied with the others above
    const { rows } = await sql<{ indexdef: string }>`
      SELECT indexdef FROM pg_indexes WHERE indexname = 'provision_runs_live_heartbeat'`.execute(db);
    expect(rows[0]?.indexdef).toMatch(/\(status, heartbeat_at\) WHERE \(status = ANY \(ARRAY\['queued'::text, 'running'::text\]\)\)/);
  });
});
