import type { FleetStatus } from '../../../src/domain/fleet.ts';

/** The lifecycle verbs a button can start; retry lives on the failed step and provision on the form. */
export type LifecycleVerb = 'cancel' | 'suspend' | 'resume' | 'deprovision';

/**
 * The verbs worth offering in each status, as the API allows them (src/domain/fleet.ts): a button
 * that the API would refuse is not drawn. Anything the API still refuses (a race) shows its message.
 */
const VERBS_BY_STATUS: Record<FleetStatus, LifecycleVerb[]> = {
  pending: ['cancel', 'deprovision'],
  provisioning: ['cancel'],
  active: ['suspend', 'deprovision'],
  suspended: ['resume', 'deprovision'],
  error: ['deprovision'],
};

export const verbsFor = (status: FleetStatus): LifecycleVerb[] => VERBS_BY_STATUS[status];

export const VERB_LABEL: Record<LifecycleVerb, string> = {
  cancel: 'Cancel provisioning',
  suspend: 'Suspend',
  resume: 'Resume',
  deprovision: 'Deprovision…',
};

/** What each verb does, said next to its button so nobody has to guess. */
export const VERB_HINT: Record<LifecycleVerb, string> = {
  cancel: 'Stops the run at its next safe point; the fleet ends in error and can be retried.',
  suspend: 'Stops the gateway and the machine; files and settings are kept.',
  resume: 'Starts the machine and the gateway again.',
  deprovision: 'Deletes the machine, the gateway and the secrets. This cannot be undone.',
};
