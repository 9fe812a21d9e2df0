import { unpinSshHostKey } from '../../db/fleets.ts';
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
    // The run's host reached the deleted machine: a reprovision's vm_create opens the new one, whose
    // SSH host key is its own.
    await ctx.machine.close();
    await unpinSshHostKey(ctx.db, ctx.fleet.id);
    return { message: `${machineLabel(machine)} deleted`, output: {} };
  },
};
