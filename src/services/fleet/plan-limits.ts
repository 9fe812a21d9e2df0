import type { Db } from '../../db/connection.ts';
import { runsStartedWithin } from '../../db/run-counts.ts';
import { getTenant } from '../../db/tenants.ts';
import { limitsOf, type PlanLimits } from '../../domain/plans.ts';
import type { Template } from '../../domain/template.ts';
import type { ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

/**
 * The tenant's plan, checked where a run is asked for: sizes (agents, repos) are a 413 naming the
 * limit, runs per hour a 429 with Retry-After. The repo size is checked while cloning (the size is
 * known only then), and runs at work at once when a worker claims a run (db/fair-claim.ts).
 */
export async function planOf(ctx: ServiceContext, db: Db, tenantId: string): Promise<{ plan: string; limits: PlanLimits }> {
  const { plan } = await getTenant(db, tenantId);
  return { plan, limits: limitsOf(ctx.planLimits, plan) };
}

export function assertPlanAllows(plan: { plan: string; limits: PlanLimits }, template: Template, repos: readonly string[]): void {
  const { limits } = plan;
  if (template.agents.length > limits.agents) {
    throw new ServiceError(
      'payload_too_large',
      `templateId: ${template.id} has ${template.agents.length} agents; the ${plan.plan} plan allows at most ${limits.agents}. ` +
        'Choose a template with fewer agents, or move to a larger plan.',
      'templateId',
    );
  }
  if (repos.length > limits.repos) {
    throw new ServiceError(
      'payload_too_large',
      `repos: ${repos.length} repos asked for; the ${plan.plan} plan allows at most ${limits.repos}. Remove some, or move to a larger plan.`,
      'repos',
    );
  }
}

const HOUR = 3600;

/** Refuses a new run when the fleet already started its plan's runs of the last hour. */
export async function assertRunRate(db: Db, plan: { plan: string; limits: PlanLimits }, fleetId: string): Promise<void> {
  const { count, freeInSeconds } = await runsStartedWithin(db, fleetId, HOUR);
  if (count < plan.limits.provisionsPerHour) return;
  throw new ServiceError(
    'rate_limited',
    `This fleet started ${count} runs in the last hour; the ${plan.plan} plan allows ${plan.limits.provisionsPerHour}. ` +
      `Try again in ${Math.ceil(freeInSeconds / 60)} min, or move to a larger plan.`,
    undefined,
    freeInSeconds,
  );
}
