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

export const LOG_STATUSES = ['running', 'complete', 'error'] as const;
export type LogStatus = (typeof LOG_STATUSES)[number];
