import { getSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import { TransientError } from '../../domain/step-errors.ts';
import { isHealthy } from '../../gateway/process.ts';
import type { StepDefinition } from '../step.ts';
import { requiredMachine } from './lifecycle-machine.ts';

/** The resumed gateway answers /healthz and /readyz, and proves it holds the fleet's token: active again. */
export const healthCheck: StepDefinition = {
  name: 'health_check',
  timeoutMs: 2 * 60_000,
  async run(ctx) {
    const machine = requiredMachine(ctx);
    const host = await ctx.machine.host(machine);
    const { [SECRET.gatewayToken]: token } = await getSecrets(ctx.db, ctx.settings.box, ctx.fleet.id);
    if (!(await isHealthy(host, machine.gatewayPort, token))) {
      throw new TransientError(`The gateway on port ${machine.gatewayPort} does not answer /healthz and /readyz yet.`, {
        retryAfterMs: 1000,
      });
    }
    return { message: `Gateway healthy on port ${machine.gatewayPort}; the fleet is active again`, output: {} };
  },
};
