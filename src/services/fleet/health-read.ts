import { clerkOwnerOf } from '../../auth/principal.ts';
import { readFleetHealth } from '../../db/fleet-health.ts';
import { findFleetOfTenant } from '../../db/fleets.ts';
import { findTenantForClerk } from '../../db/tenants.ts';
import type { DesiredState, FleetStatus } from '../../domain/fleet.ts';
import type { FleetHealthReport } from '../../domain/fleet-health.ts';
import type { Caller, ServiceContext } from '../context.ts';
import { platformTenant } from './access.ts';

export interface FleetHealthView {
  fleetStatus: FleetStatus;
  desiredState: DesiredState;
  /** When the reconciler last looked at the fleet; null before its first look. */
  checkedAt: string | null;
  /** The report of that look; null before it. The reconciler looks only at fleets meant to run and active. */
  report: FleetHealthReport | null;
}

/**
 * The fleet's health as the reconciler last saw it: a read, never a probe. Any member of the
 * tenant may read it (it changes nothing); the platform for any tenant. Null when the session's
 * tenant has no fleet (as GET /api/fleet answers `fleet: null`).
 */
export async function readHealth(ctx: ServiceContext, caller: Caller): Promise<FleetHealthView | null> {
  let tenantId: string | undefined;
  if ('principal' in caller) tenantId = (await findTenantForClerk(ctx.db, clerkOwnerOf(caller.principal)))?.id;
  else tenantId = await platformTenant(ctx.db, caller.tenant);
  const fleet = tenantId ? await findFleetOfTenant(ctx.db, tenantId) : undefined;
  if (!fleet) return null;
  const seen = await readFleetHealth(ctx.db, fleet.id);
  return {
    fleetStatus: fleet.status,
    desiredState: fleet.desired_state,
    checkedAt: seen ? seen.checkedAt.toISOString() : null,
    report: seen?.report ?? null,
  };
}
