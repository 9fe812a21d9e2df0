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

/**
 * What a fleet is meant to be (`fleets.desired_state`), next to what it is (its status): set by
 * every action in the transaction that records it, and asked by everything that would start a
 * machine or a gateway on its own ("stopped means stopped").
 */
export const DESIRED_STATES = ['running', 'suspended', 'deleted'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

/**
 * The status changes, and the statuses each is allowed from. `provision` and `retry` start a
 * provision run; the others end a run (its kind says which: domain/run-kinds.ts). Suspend, resume
 * and deprovision runs leave the status as it is while they work; any run that fails, or is
 * cancelled, leaves the fleet in `error`.
 */
const TRANSITIONS = {
  provision: { from: ['pending'], to: 'provisioning' },
  retry: { from: ['error'], to: 'provisioning' },
  succeed: { from: ['provisioning'], to: 'active' },
  fail: { from: ['provisioning', 'active', 'suspended', 'error'], to: 'error' },
  // A retried suspend or resume starts from `error`.
  suspended: { from: ['active', 'error'], to: 'suspended' },
  resumed: { from: ['suspended', 'error'], to: 'active' },
  // Changed settings on a built fleet: a provision run re-does the steps the change affects.
  reconfigure: { from: ['active', 'error'], to: 'provisioning' },
  // Deprovision then provision again with the stored settings, as one run.
  reprovision: { from: ['active', 'error'], to: 'provisioning' },
} as const satisfies Record<string, { from: readonly FleetStatus[]; to: FleetStatus }>;

export type FleetAction = keyof typeof TRANSITIONS;

/** An internal transition that the state machine refuses: a bug or a race, not a caller's mistake. */
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

/** What a tenant or the platform can ask of a fleet (each a verb in src/services/fleet). */
export type FleetVerb = 'provision' | 'retry' | 'suspend' | 'resume' | 'deprovision' | 'cancel' | 'reconfigure' | 'reprovision';

/**
 * The verbs each status allows (while no run is at work; a run at work allows only what its kind
 * says, see runBusyMessage). Provisioning a fleet in `error` again is "fix the settings and go on".
 */
const VERBS_FROM: Record<FleetStatus, readonly FleetVerb[]> = {
  pending: ['provision', 'deprovision'],
  provisioning: ['cancel'],
  active: ['suspend', 'reconfigure', 'reprovision', 'deprovision'],
  error: ['retry', 'provision', 'reconfigure', 'reprovision', 'deprovision'],
  suspended: ['resume', 'deprovision'],
};

export const verbAllowed = (status: FleetStatus, verb: FleetVerb): boolean => VERBS_FROM[status].includes(verb);

/** The 409 text for a verb the fleet's status does not allow: the status, and what it does allow. */
export function illegalVerbMessage(verb: FleetVerb, status: FleetStatus): string {
  const allowed = VERBS_FROM[status];
  return `Cannot ${verb}: fleet is ${status === 'error' ? 'in error' : status}; allowed: ${allowed.length ? allowed.join(', ') : 'nothing'}.`;
}
