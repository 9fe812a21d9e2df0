import type { z } from '@hono/zod-openapi';
import type { Config } from '../config.ts';
import type { Db } from '../db/connection.ts';
import { type FleetRecord, type FleetViewBounds, readFleetRecord, type TenantLookup } from '../db/fleet-view.ts';
import type { TenantWithFleet } from '../db/tenants.ts';
import type { FleetSchema, TenantSchema } from './schemas.ts';

/** Stored records as the API shows them: the one place where internal names meet the seed's. */

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

export type FleetJson = z.infer<typeof FleetSchema>;

/** The seed's `fleet` object, keys in the seed's order; the machine under its `gcpResources` names. */
export function fleetJson(r: FleetRecord): FleetJson {
  return {
    status: r.status,
    templateId: r.templateId,
    dashboardUrl: r.dashboardUrl,
    agentSpecs: r.agentSpecs,
    repos: r.repos,
    gcpResources: r.machine ? { vmName: r.machine.name, zone: r.machine.zone, ip: r.machine.ip } : null,
    provisionLog: r.provisionLog,
    provisionLogSummary: r.provisionLogSummary,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** The log bounds the settings ask for (FLEET_LOG_WHOLE_RUNS). */
export const fleetViewBounds = (config: Config): FleetViewBounds => ({ wholeRuns: config.http.logWholeRuns });

/** The fleet of the tenant found by `lookup`, as the API shows it, with that tenant's id. */
export async function readFleetJson(
  db: Db,
  lookup: TenantLookup,
  bounds: FleetViewBounds,
): Promise<{ tenantId: string; fleet: FleetJson } | null> {
  const found = await readFleetRecord(db, lookup, bounds);
  return found ? { tenantId: found.tenantId, fleet: fleetJson(found.fleet) } : null;
}

export function tenantJson(t: TenantWithFleet): z.infer<typeof TenantSchema> {
  return {
    id: t.id,
    tenantId: t.slug,
    name: t.name,
    plan: t.plan,
    kind: t.kind,
    clerkOrgId: t.clerk_org_id,
    clerkUserId: t.clerk_user_id,
    status: t.fleet_status,
    templateId: t.template_id,
    createdAt: iso(t.created_at),
    updatedAt: iso(t.updated_at),
  };
}
