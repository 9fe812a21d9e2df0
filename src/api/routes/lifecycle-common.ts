import { z } from '@hono/zod-openapi';
import { RUN_KIND_NAMES } from '../../domain/run-kinds.ts';
import type { CancelOutcome } from '../../services/fleet/cancel.ts';
import type { RunOutcome } from '../../services/fleet/start-run.ts';
import type { AppDeps } from '../context.ts';
import { FleetSchema } from '../schemas.ts';
import { fleetViewBounds, readFleetJson } from '../serialize.ts';

/** The 202 answers of suspend, resume, deprovision and cancel (tenant and platform routes). */

export const RunAccepted = z
  .object({
    ok: z.literal(true),
    runId: z.string().openapi({ example: 'run_8d2k4m' }),
    kind: z.enum(RUN_KIND_NAMES),
    started: z.boolean().openapi({ description: 'false when a run of this kind was already at work and this is it' }),
    // A union, not FleetSchema.nullable(): that would register the Fleet component itself as nullable.
    fleet: z.union([FleetSchema, z.null()]).openapi({ description: 'null once a deprovision has removed it' }),
  })
  .openapi('RunAccepted');

export const CancelAccepted = z
  .object({
    ok: z.literal(true),
    runId: z.string().openapi({ description: 'The provision run that was stopped' }),
    stopped: z.enum(['at-once', 'at-next-safe-point']).openapi({
      description: '`at-once`: it was still queued; `at-next-safe-point`: its worker aborts the running step and ends it',
    }),
    fleet: z.union([FleetSchema, z.null()]),
  })
  .openapi('CancelAccepted');

const fleetOf = async (deps: AppDeps, tenantId: string) =>
  (await readFleetJson(deps.db, { tenantId }, fleetViewBounds(deps.config)))?.fleet ?? null;

export async function runAcceptedBody(deps: AppDeps, outcome: RunOutcome) {
  return {
    ok: true as const,
    runId: outcome.run.id,
    kind: outcome.run.kind,
    started: outcome.kind === 'started',
    fleet: await fleetOf(deps, outcome.tenantId),
  };
}

export async function cancelAcceptedBody(deps: AppDeps, outcome: CancelOutcome) {
  return { ok: true as const, runId: outcome.run.id, stopped: outcome.stopped, fleet: await fleetOf(deps, outcome.tenantId) };
}
