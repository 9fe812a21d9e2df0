/** Billing plans a tenant can be on. A closed list: an unknown plan is a 400, not a new plan. */
export const PLANS = ['free', 'pro', 'team', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

/** What one tenant's plan allows. Every number is a setting (FLEET_PLAN_LIMITS) over these defaults. */
export interface PlanLimits {
  /** Agents of the fleet's template. */
  agents: number;
  /** Repositories cloned into each agent's workspace. */
  repos: number;
  /** The largest repository a clone may grow to (its checkout and its shallow history), in MiB. */
  repoMb: number;
  /**
   * Runs of one requester at work at once, across every worker: a user can make many tenants (one
   * per Clerk organisation), so this, not one run per tenant, is what keeps one user from holding
   * every worker slot.
   */
  concurrentRuns: number;
  /** Runs (provisions and retries) one tenant may start in an hour. */
  provisionsPerHour: number;
}

export const PLAN_LIMIT_NAMES = [
  'agents',
  'repos',
  'repoMb',
  'concurrentRuns',
  'provisionsPerHour',
] as const satisfies readonly (keyof PlanLimits)[];

export const DEFAULT_PLAN_LIMITS: Record<Plan, PlanLimits> = {
  free: { agents: 7, repos: 5, repoMb: 200, concurrentRuns: 1, provisionsPerHour: 10 },
  pro: { agents: 15, repos: 10, repoMb: 1000, concurrentRuns: 2, provisionsPerHour: 30 },
  team: { agents: 30, repos: 20, repoMb: 2000, concurrentRuns: 4, provisionsPerHour: 60 },
  enterprise: { agents: 100, repos: 20, repoMb: 5000, concurrentRuns: 8, provisionsPerHour: 120 },
};

/** The limits of `plan`; a plan not in the list (a row from before) gets the free plan's. */
export function limitsOf(limits: Record<Plan, PlanLimits>, plan: string): PlanLimits {
  return (PLANS as readonly string[]).includes(plan) ? limits[plan as Plan] : limits.free;
}

/**
 * `plan.limit=value,…` (e.g. `free.repos=3,pro.concurrentRuns=4`) over the defaults. Returns the
 * problems instead of throwing, so the configuration can list them with every other one.
 */
export function parsePlanLimits(text: string): { limits: Record<Plan, PlanLimits>; problems: string[] } {
  const limits = structuredClone(DEFAULT_PLAN_LIMITS);
  const problems: string[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^(\w+)\.(\w+)=(\d+)$/.exec(part);
    const [plan, name, value] = match ? [match[1]!, match[2]!, Number(match[3])] : [];
    if (!plan || !name || value === undefined) problems.push(`'${part}' must look like plan.limit=number`);
    else if (!(PLANS as readonly string[]).includes(plan)) problems.push(`unknown plan '${plan}'; plans: ${PLANS.join(', ')}`);
    else if (!(PLAN_LIMIT_NAMES as readonly string[]).includes(name))
      problems.push(`unknown limit '${name}'; limits: ${PLAN_LIMIT_NAMES.join(', ')}`);
    else if (value < 1) problems.push(`${plan}.${name} must be at least 1`);
    else limits[plan as Plan][name as keyof PlanLimits] = value;
  }
  return { limits, problems };
}
