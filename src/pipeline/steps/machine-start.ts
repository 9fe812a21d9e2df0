import { machineRecord } from '../../compute/driver.ts';
import { updateMachineAddress } from '../../db/checkpoints.ts';
import { cleanOutsideText } from '../../db/outside-text.ts';
import { TerminalError } from '../../domain/step-errors.ts';
import type { StepDefinition } from '../step.ts';
import { machineLabel, requiredMachine } from './lifecycle-machine.ts';
import { dashboardUrlOf } from './machine.ts';

/**
 * Starts the suspended machine through its driver (GCP: instances.start) and reads its address
 * again: a VM's ephemeral external IP changes across a stop, and every later run reaches the
 * machine by the address in vm_create's checkpoint.
 */
export const machineStart: StepDefinition = {
  name: 'machine_start',
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const machine = requiredMachine(ctx);
    const driver = ctx.machine.driver();
    await driver.start(machine);
    const { state, ip } = await driver.describe(machine);
    if (state === 'missing') {
      throw new TerminalError(
        `${machineLabel(machine)} no longer exists, so the fleet cannot be resumed. Deprovision it, then provision a new one.`,
      );
    }
    const moved = ip !== null && ip !== machine.ip ? cleanOutsideText(ip, 100) : undefined;
    if (moved) {
      await updateMachineAddress(ctx.db, ctx.fleet.id, moved);
      ctx.outputs.vm_create = { ...ctx.outputs.vm_create, ip: moved };
    }
    const now = moved ? { ...machine, ip: moved } : machine;
    return {
      message: `${machineLabel(now)} started${moved ? ` (its address is now ${moved})` : ''}`,
      output: { ip: now.ip },
      // The Control UI moved with the address.
      fleetUpdate: moved ? { machine: machineRecord(now), dashboardUrl: dashboardUrlOf(now) } : undefined,
    };
  },
};
