import { stepPositionIn } from '../domain/run-kinds.ts';
import type { ProvisionStep, StepName } from '../domain/steps.ts';

/**
 * When a failed fleet is provisioned again with corrected settings, the first step whose work
 * depends on what changed: its checkpoint and every later one are dropped so those steps run
 * again; earlier steps keep theirs. Nothing changed → null (a plain retry at the failed step).
 */
export function firstStepAffected(change: {
  template: boolean;
  repos: boolean;
  gitToken: boolean;
  discord: boolean;
  missionControl: boolean;
}): ProvisionStep | null {
  // Workspaces hold the clones; openclaw.json holds the Discord accounts; the checks read both.
  if (change.template || change.repos || change.gitToken) return 'workspace_bootstrap';
  if (change.discord) return 'agent_config';
  if (change.missionControl) return 'connectivity_check';
  return null;
}

export const stepPosition = (step: StepName) => stepPositionIn('provision', step);
