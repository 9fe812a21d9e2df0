/** Billing plans a tenant can be on. A closed list: an unknown plan is a 400, not a new plan. */
export const PLANS = ['free', 'pro', 'team', 'enterprise'] as const;
