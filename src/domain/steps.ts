/** The provisioning steps of the seed, in the order a run executes them. */
export const PROVISION_STEPS = [
  'vm_create',
  'workspace_bootstrap',
  'agent_config',
  'gateway_start',
  'connectivity_check',
  'complete',
] as const;

export type ProvisionStep = (typeof PROVISION_STEPS)[number];

/** Stopping a fleet and keeping its data: the gateway, then the machine. */
export const SUSPEND_STEPS = ['gateway_stop', 'machine_stop', 'fleet_suspended'] as const;

/** Starting a suspended fleet again: the machine, the gateway, then its health. */
export const RESUME_STEPS = ['machine_start', 'gateway_restart', 'health_check'] as const;

/**
 * Removing a fleet, in two phases: `deprovision_plan` records what will be deleted before anything
 * is, so a run that dies half-way finishes the same job; `deprovision_proof` checks each thing is
 * gone and says how.
 */
export const DEPROVISION_STEPS = ['deprovision_plan', 'gateway_stop', 'machine_delete', 'secrets_destroy', 'deprovision_proof'] as const;

/**
 * Reprovisioning: the machine torn down as a deprovision does it (planned first, then proven
 * gone), but the fleet, its settings and its secrets kept; then the provision steps build it again.
 */
export const REPROVISION_TEARDOWN_STEPS = ['deprovision_plan', 'gateway_stop', 'machine_delete', 'deprovision_proof'] as const;
export const REPROVISION_STEPS = [...REPROVISION_TEARDOWN_STEPS, ...PROVISION_STEPS] as const;

/** Not a run's step: the reconciler's entries in a fleet's log (a gateway restarted, a fleet moved to `error`). */
export const RECONCILE_STEP = 'reconcile';

/** Every step a kind of run has (what step timeouts and test faults may name). */
export const RUN_STEPS = [...new Set([...PROVISION_STEPS, ...SUSPEND_STEPS, ...RESUME_STEPS, ...DEPROVISION_STEPS])] as [
  StepName,
  ...StepName[],
];

/** Every step name written into the provision log: every kind of run's, and the reconciler's. */
export const ALL_STEPS = [...RUN_STEPS, RECONCILE_STEP] as [StepName, ...StepName[]];

export type StepName =
  | ProvisionStep
  | (typeof SUSPEND_STEPS)[number]
  | (typeof RESUME_STEPS)[number]
  | (typeof DEPROVISION_STEPS)[number]
  | typeof RECONCILE_STEP;

export const isRunStep = (s: string): s is StepName => (RUN_STEPS as readonly string[]).includes(s);

export const LOG_STATUSES = ['running', 'complete', 'error'] as const;
export type LogStatus = (typeof LOG_STATUSES)[number];
