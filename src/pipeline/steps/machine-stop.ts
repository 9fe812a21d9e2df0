import type { StepDefinition } from '../step.ts';
import { machineLabel, requiredMachine } from './lifecycle-machine.ts';

/** Stops the machine through its driver (GCP: instances.stop), keeping its disk and every file. */
export const machineStop: StepDefinition = {
  name: 'machine_stop',
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const machine = requiredMachine(ctx);
    await ctx.machine.driver().stop(machine);
    return {
      message:
        machine.driver === 'local'
          ? `${machineLabel(machine)}: nothing runs on it now; its files are kept`
          : `${machineLabel(machine)} stopped; its disk and data are kept`,
      output: {},
    };
  },
};
