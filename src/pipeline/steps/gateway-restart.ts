import { getSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import { ensureGatewayRunning } from '../../gateway/process.ts';
import type { StepDefinition } from '../step.ts';
import { requiredMachine } from './lifecycle-machine.ts';
import { gatewaySpec } from './machine.ts';
import { runtimeFor } from './runtime.ts';

/** Starts the resumed fleet's gateway with the config it had (unless it is already healthy). */
export const gatewayRestart: StepDefinition = {
  name: 'gateway_restart',
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const machine = requiredMachine(ctx);
    const host = await ctx.machine.host(machine);
    const runtime = await runtimeFor(machine, host, ctx.settings, { signal: ctx.signal });
    const { [SECRET.gatewayToken]: token } = await getSecrets(ctx.db, ctx.settings.box, ctx.fleet.id);
    if (!token) throw new Error('the gateway token written by vm_create is missing');
    const res = await ensureGatewayRunning(host, {
      ...gatewaySpec(machine, host, runtime, token),
      timeoutMs: 5 * 60_000,
      signal: ctx.signal,
    });
    return {
      message: res.restarted
        ? `Gateway started again (pid ${res.pid}) on port ${machine.gatewayPort}`
        : `Gateway already healthy on port ${machine.gatewayPort}; not restarted`,
      output: { pid: res.pid ?? null },
    };
  },
};
