import { type AbsenceCheck, StillPresentError } from '../../compute/driver.ts';
import { countSecrets } from '../../db/secrets.ts';
import { TransientError } from '../../domain/step-errors.ts';
import type { StepDefinition } from '../step.ts';
import { lifecycleMachine } from './lifecycle-machine.ts';

/**
 * Phase two's end: checks that each planned resource is gone and says how (the driver's proof for
 * the machine, a count for the secrets). Its message is the proof entry of the log stream; the
 * executor writes its output to the audit log and removes the fleet in the same commit
 * (pipeline/run-end.ts). Something still there is a transient failure: deleted resources can take
 * a moment to disappear; past the retries the run ends in error and a retry deletes again.
 */
export const deprovisionProof: StepDefinition = {
  name: 'deprovision_proof',
  timeoutMs: 2 * 60_000,
  async run(ctx) {
    const machine = lifecycleMachine(ctx);
    const proof: AbsenceCheck[] = [];
    try {
      if (machine) proof.push(...(await ctx.machine.driver().verifyDeleted(machine)));
    } catch (e) {
      if (e instanceof StillPresentError) throw new TransientError(`Not deleted yet: ${e.message}.`, { retryAfterMs: 1000 });
      throw e;
    }
    if (ctx.run.kind === 'reprovision') {
      return {
        message: proof.length
          ? `Machine deleted. Verified absent: ${proof.map((p) => `${p.resource} (${p.verifiedBy})`).join('; ')}. Building it again.`
          : 'No machine was made, so none to delete. Building it.',
        output: { proof },
      };
    }
    const secrets = await countSecrets(ctx.db, ctx.fleet.id);
    if (secrets > 0) throw new TransientError(`Not deleted yet: ${secrets} secret rows of the fleet remain.`);
    proof.push({ resource: 'fleet secrets', verifiedBy: 'zero rows in fleet_secrets' });
    proof.push({ resource: `fleet ${ctx.fleet.id}`, verifiedBy: 'deleted with this entry, in one commit' });
    if (ctx.run.options.removeTenant)
      proof.push({ resource: `tenant ${ctx.tenant.slug}`, verifiedBy: 'deleted with this entry, in one commit' });
    return {
      message: `Deprovisioned. Verified absent: ${proof.map((p) => `${p.resource} (${p.verifiedBy})`).join('; ')}`,
      output: { proof },
    };
  },
};
