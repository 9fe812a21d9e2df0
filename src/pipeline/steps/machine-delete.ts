import type { StepDefinition } from '../step.ts';
import { lifecycleMachine, machineLabel } from './lifecycle-machine.ts';

/** Deletes the planned machine through its driver (GCP: the VM and its boot disk; local: the directory). Idempotent. */
export const machineDelete: StepDefinition = {
  name: 'machine_delete',
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const machine = lifecycleMachine(ctx);
    if (!machine) return { message: 'Skipped: no machine was made', output: {} };
    await ctx.machine.driver().delete(machine);
    return { message: `${machineLabel(machine)} deleted`, output: {} };
  },
};
