import type { StepDefinition } from '../step.ts';

/** The suspension's last word in the log: who suspended the fleet, why, and how it comes back. */
export const fleetSuspended: StepDefinition = {
  name: 'fleet_suspended',
  timeoutMs: 30_000,
  async run(ctx) {
    const { actor, reason } = ctx.run.options;
    const by = actor === 'platform' ? 'the platform' : (actor ?? 'request');
    const back = actor === 'platform' ? 'the platform can resume it' : 'resume it to start it again';
    return {
      message: `Fleet suspended by ${by}${reason ? ` (${reason})` : ''}; all data kept; ${back}`,
      output: { reason: reason ?? null },
    };
  },
};
