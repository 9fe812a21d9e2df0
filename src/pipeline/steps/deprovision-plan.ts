import { secretNames } from '../../db/secrets.ts';
import type { StepDefinition } from '../step.ts';
import { lifecycleMachine, machineLabel } from './lifecycle-machine.ts';

/**
 * Phase one of a deprovision: writes down what will be deleted before anything is (its
 * checkpoint). A run that dies later resumes from this record, so it deletes the same things,
 * even once the machine or the secrets are already gone.
 */
export const deprovisionPlan: StepDefinition = {
  name: 'deprovision_plan',
  timeoutMs: 30_000,
  async run(ctx) {
    const machine = lifecycleMachine(ctx) ?? null;
    if (ctx.run.kind === 'reprovision') {
      // The fleet, its settings and its secrets stay: only the machine goes, then is built again.
      return {
        message:
          `Will delete: ${machine ? `${machineLabel(machine)} and its gateway (port ${machine.gatewayPort})` : 'no machine (none was made)'}; ` +
          'then build it again from the stored settings. Kept: the fleet, its settings and secrets, its log and audit.',
        output: { machine, secrets: [], removeTenant: false },
      };
    }
    const secrets = await secretNames(ctx.db, ctx.fleet.id);
    const what = [
      machine ? `${machineLabel(machine)} and its gateway (port ${machine.gatewayPort})` : 'no machine (none was made)',
      `${secrets.length} secret${secrets.length === 1 ? '' : 's'}`,
      'the fleet record, its runs, log and checkpoints',
      ...(ctx.run.options.removeTenant ? [`tenant ${ctx.tenant.slug}`] : []),
    ];
    return {
      message: `Will delete: ${what.join('; ')}. The audit log is kept.`,
      output: { machine, secrets, removeTenant: ctx.run.options.removeTenant === true },
    };
  },
};
