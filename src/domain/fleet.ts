import type { Template, TemplateAgent } from './template.ts';

/** Fleet statuses and the one state machine every status change goes through. No I/O here. */

export const FLEET_STATUSES = ['pending', 'provisioning', 'active', 'error', 'suspended'] as const;
export type FleetStatus = (typeof FLEET_STATUSES)[number];

/** An agent as the seed's `agentSpecs` shows it. */
export interface AgentSpec {
  name: string;
  role: string;
}

/**
 * An agent of a fleet, copied from its template when the fleet is provisioned: the stored fleet is
 * the truth for every step, so a template edited later (or different on another worker's host)
 * never gives a fleet whose workspaces and config disagree.
 */
export type FleetAgent = TemplateAgent;

/** The agents a fleet made from `template` stores. */
export function fleetAgentsOf(template: Template): FleetAgent[] {
  return template.agents.map(({ name, displayName, role, description, persona }) => ({ name, displayName, role, description, persona }));
}

/** The compute drivers a fleet can be made with (src/compute). */
export type ComputeDriverName = 'local' | 'gcp';

/**
 * The machine a fleet runs on, in its compute driver's own terms (a local directory has no zone).
 * The API maps it to the seed's `gcpResources` field names at its edge.
 */
export interface MachineRecord {
  /** The compute driver that made it. */
  driver: ComputeDriverName;
  name: string;
  zone: string | null;
  ip: string | null;
}

/** The actions that move a fleet, and the statuses each is allowed from. */
const TRANSITIONS = {
  provision: { from: ['pending'], to: 'provisioning' },
  retry: { from: ['error'], to: 'provisioning' },
  succeed: { from: ['provisioning'], to: 'active' },
  fail: { from: ['provisioning'], to: 'error' },
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
} as const satisfies Record<string, { from: readonly FleetStatus[]; to: FleetStatus }>;

export type FleetAction = keyof typeof TRANSITIONS;

export class IllegalTransitionError extends Error {
  constructor(
    readonly action: FleetAction,
    readonly from: FleetStatus,
  ) {
    const allowed = TRANSITIONS[action].from.map((s) => `'${s}'`).join(' or ');
    super(`Cannot ${action} a fleet that is '${from}': ${action} is only allowed when the fleet is ${allowed}.`);
    this.name = 'IllegalTransitionError';
  }
}

/** The status `action` leads to from `from`; throws IllegalTransitionError when not allowed. */
export function transition(from: FleetStatus, action: FleetAction): FleetStatus {
  const rule = TRANSITIONS[action];
  if (!(rule.from as readonly FleetStatus[]).includes(from)) throw new IllegalTransitionError(action, from);
  return rule.to;
}

export function canTransition(from: FleetStatus, action: FleetAction): boolean {
  return (TRANSITIONS[action].from as readonly FleetStatus[]).includes(from);
}
