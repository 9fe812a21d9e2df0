import { deleteSecrets } from '../../db/secrets.ts';
import type { StepDefinition } from '../step.ts';

/** Destroys every secret of the fleet (bot, Mission Control, git and gateway tokens, SSH key). */
export const secretsDestroy: StepDefinition = {
  name: 'secrets_destroy',
  timeoutMs: 30_000,
  async run(ctx) {
    const planned = ((ctx.outputs.deprovision_plan as { secrets?: string[] } | undefined)?.secrets ?? []).length;
    await deleteSecrets(ctx.db, ctx.fleet.id);
    return { message: `Secrets destroyed (${planned} planned)`, output: {} };
  },
};
