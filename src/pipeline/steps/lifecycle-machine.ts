import type { Machine } from '../../compute/driver.ts';
import type { StepContext } from '../step.ts';
import { machineOf } from './machine.ts';

/**
 * The machine a suspend, resume or deprovision works on: the one its deprovision plan recorded
 * (the plan is the truth once written), else vm_create's; undefined when no machine was ever made.
 */
export function lifecycleMachine(ctx: Pick<StepContext, 'outputs'>): Machine | undefined {
  const plan = ctx.outputs.deprovision_plan as { machine?: Machine | null } | undefined;
  if (plan) return plan.machine ?? undefined;
  return ctx.outputs.vm_create ? machineOf(ctx) : undefined;
}

/** The same, for steps that cannot work without a machine (suspend, resume). */
export function requiredMachine(ctx: Pick<StepContext, 'outputs'>): Machine {
  const machine = lifecycleMachine(ctx);
  if (!machine) throw new Error('this fleet has no machine (vm_create never completed)');
  return machine;
}

/** "machine fleet-acme (local)" / "VM fleet-acme in europe-west2-b": how messages name it. */
export const machineLabel = (m: Machine): string =>
  m.driver === 'gcp' ? `VM ${m.vmName} in ${m.zone}` : `machine ${m.vmName} (local directory fleets/${m.root.split('/').pop()})`;
