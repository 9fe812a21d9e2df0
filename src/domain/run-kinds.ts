import { DEPROVISION_STEPS, PROVISION_STEPS, REPROVISION_STEPS, RESUME_STEPS, type StepName, SUSPEND_STEPS } from './steps.ts';

/**
 * The kinds of run: each is a list of steps and the way the fleet ends when its last step
 * completes (in the same commit). The executor knows no kind by name: it reads this table.
 *
 * Checkpoints are kept per fleet and kind. A provision's checkpoints are the fleet's build and last
 * as long as the fleet; a suspend's, resume's or deprovision's belong to one attempt: a new
 * request of that kind drops them, a retry of a failed one keeps them and resumes at its failed step.
 */
export const RUN_KINDS = {
  provision: { steps: PROVISION_STEPS, endsWith: 'succeed' },
  suspend: { steps: SUSPEND_STEPS, endsWith: 'suspended' },
  resume: { steps: RESUME_STEPS, endsWith: 'resumed' },
  deprovision: { steps: DEPROVISION_STEPS, endsWith: 'removed' },
  // One run: the teardown's checkpoints and the rebuild's are its own; when it ends, the rebuild's
  // become the fleet's provision checkpoints (pipeline/run-end.ts).
  reprovision: { steps: REPROVISION_STEPS, endsWith: 'succeed' },
} as const satisfies Record<string, { steps: readonly StepName[]; endsWith: RunEnd }>;

export type RunKind = keyof typeof RUN_KINDS;
export const RUN_KIND_NAMES = Object.keys(RUN_KINDS) as [RunKind, ...RunKind[]];

/** A state-machine transition (domain/fleet.ts), or `removed`: the fleet row itself is deleted. */
export type RunEnd = 'succeed' | 'suspended' | 'resumed' | 'removed';

/** The kinds whose run moves the fleet to `provisioning` when it starts and to `active` when it ends. */
export const buildsFleet = (kind: RunKind): boolean => kind === 'provision' || kind === 'reprovision';

/** Where step `step` stands in its kind's list (checked on replay against the checkpoint's). */
export const stepPositionIn = (kind: RunKind, step: StepName): number => (RUN_KINDS[kind].steps as readonly StepName[]).indexOf(step);
