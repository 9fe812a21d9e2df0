import { z } from '@hono/zod-openapi';
import type { RunOutcome } from '../../services/fleet/start-run.ts';
import type { AppDeps } from '../context.ts';
import { FleetSchema } from '../schemas.ts';
import { fleetViewBounds, readFleetJson } from '../serialize.ts';

/** The 202 answer of the tenant and platform provisioning routes. */

export const ProvisionAccepted = z
  .object({
    ok: z.literal(true),
    runId: z.string().openapi({ example: 'run_8d2k4m' }),
    started: z.boolean().openapi({ description: 'false when a run was already active and this is it' }),
    fleet: FleetSchema,
  })
  .openapi('ProvisionAccepted');

export async function acceptedBody(deps: AppDeps, outcome: RunOutcome) {
  const fleet = (await readFleetJson(deps.db, { tenantId: outcome.tenantId }, fleetViewBounds(deps.config)))?.fleet;
  if (!fleet) throw new Error(`fleet of ${outcome.tenantId} vanished`);
  return { ok: true as const, runId: outcome.run.id, started: outcome.kind === 'started', fleet };
}
