import { z } from '@hono/zod-openapi';
import type { Principal } from '../../auth/principal.ts';
import { isOrgAdmin } from '../../auth/principal.ts';
import type { AppDeps } from '../context.ts';
import { ApiError } from '../errors.ts';
import { FleetSchema } from '../schemas.ts';
import { readFleetView } from '../../db/fleet-view.ts';
import { RequestError, type ProvisionOutcome } from '../../pipeline/provision-service.ts';

/** Shared by the tenant and platform provisioning routes. */

export const ProvisionAccepted = z
  .object({
    ok: z.literal(true),
    runId: z.string().openapi({ example: 'run_8d2k4m' }),
    started: z.boolean().openapi({ description: 'false when a run was already active and this is it' }),
    fleet: FleetSchema,
  })
  .openapi('ProvisionAccepted');

/** In an organisation only admins change the fleet; a personal tenant is its user's own. */
export function requireFleetAdmin(p: Principal): void {
  if (p.orgId && !isOrgAdmin(p)) {
    throw new ApiError(
      'forbidden',
      `Only organisation admins can change the fleet; your role in ${p.orgSlug ?? p.orgId} is ${p.orgRole ?? 'none'}.`,
    );
  }
}

export function toApiError(e: unknown): never {
  if (e instanceof RequestError) {
    throw new ApiError(e.code, e.message, e.field ? { field: e.field } : undefined);
  }
  throw e;
}

export async function acceptedBody(deps: AppDeps, outcome: ProvisionOutcome) {
  const fleet = (await readFleetView(deps.db, { tenantId: outcome.tenantId }))?.fleet;
  if (!fleet) throw new Error(`fleet of ${outcome.tenantId} vanished`);
  return { ok: true as const, runId: outcome.run.id, started: outcome.kind === 'started', fleet };
}
