import { stopGateway } from '../../gateway/process.ts';
import type { StepDefinition } from '../step.ts';
import { lifecycleMachine } from './lifecycle-machine.ts';

/**
 * Stops the fleet's gateway (with its whole process group) before its machine is stopped or
 * deleted. A VM that is not running has no gateway running either; a local machine is asked
 * anyway (its gateway is a process of this host, which a missing directory does not stop).
 */
export const gatewayStop: StepDefinition = {
  name: 'gateway_stop',
  timeoutMs: 2 * 60_000,
  async run(ctx) {
    const machine = lifecycleMachine(ctx);
    if (!machine) return { message: 'Skipped: no machine was made, so no gateway runs', output: { stopped: false } };
    if (machine.driver !== 'local') {
      const { state } = await ctx.machine.driver().describe(machine);
      if (state !== 'running') {
        return { message: `Skipped: VM ${machine.vmName} is ${state}, so its gateway is not running`, output: { stopped: false } };
      }
    }
    const host = await ctx.machine.host(machine);
    const res = await stopGateway(host, { graceMs: 10_000 });
    return {
      message: res.stopped
        ? `Gateway stopped (pid ${res.pid}${res.killed ? ', killed after it ignored SIGTERM' : ''})`
        : 'Gateway was not running; nothing to stop',
      output: { stopped: res.stopped, pid: res.pid ?? null },
    };
  },
};
