import type { Db } from '../../src/db/connection.ts';
import { insertRun } from '../../src/db/runs.ts';
import { insertTenantWithFleet } from '../../src/db/tenants.ts';
import type { ProvisionStep } from '../../src/domain/steps.ts';
import { TemplateRegistry } from '../../src/templates/registry.ts';

let made = 0;

/**
 * A solo-engineer fleet in `provisioning` with a queued provision run and the given checkpoints
 * already stored, written straight into the database: for executor tests that call `executeRun`.
 */
export async function fleetWithQueuedRun(
  db: Db,
  checkpoints: Array<{ step: ProvisionStep; position: number; output?: Record<string, unknown> }> = [],
): Promise<{ fleetId: string; tenantId: string; runId: string }> {
  made++;
  const slug = `qr_${process.pid}_${made}`;
  const tenant = await insertTenantWithFleet(
    db,
    { slug, name: 'queued run', plan: 'free', clerkOrgId: `org_${slug}`, clerkUserId: null },
    TemplateRegistry.load().get('solo-engineer')!,
    { actor: 't', detail: {} },
  );
  const fleet = await db.selectFrom('fleets').select('id').where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
  await db.updateTable('fleets').set({ status: 'provisioning' }).where('id', '=', fleet.id).execute();
  const run = await insertRun(db, fleet.id, 'provision');
  for (const c of checkpoints) {
    await db
      .insertInto('step_checkpoints')
      .values({ fleet_id: fleet.id, step: c.step, position: c.position, run_id: run.id, output: JSON.stringify(c.output ?? {}) })
      .execute();
  }
  return { fleetId: fleet.id, tenantId: tenant.id, runId: run.id };
}
