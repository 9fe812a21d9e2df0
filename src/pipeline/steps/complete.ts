import type { StepDefinition } from '../step.ts';
import { dashboardUrlOf, machineOf } from './machine.ts';

/** The fleet is live: the executor marks it active with this dashboard URL in the same commit. */
export const complete: StepDefinition = {
  name: 'complete',
  timeoutMs: 30_000,
  async run(ctx) {
    const machine = machineOf(ctx);
    const dashboardUrl = dashboardUrlOf(machine);
    const n = ctx.fleet.agents.length;
    return {
      message: `Fleet ready: ${n} agent${n > 1 ? 's' : ''} running; Control UI at ${dashboardUrl}`,
      output: { dashboardUrl },
      fleetUpdate: { dashboardUrl },
    };
  },
};
