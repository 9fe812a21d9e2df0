import { PROVISION_STEPS } from '../../domain/steps.ts';
import type { StepDefinition } from '../step.ts';

/**
 * Test-only provision steps (FLEET_TEST_STANDIN_STEP_MS, refused in production): each waits the
 * given time, honouring the run's signal, and touches nothing outside the database, so many
 * worker processes can be measured and killed without machines or gateways. What the control
 * plane does around a step (claim, log entries, checkpoints, heartbeats, events) is the real code.
 */
export function standinSteps(stepMs: number): StepDefinition[] {
  return PROVISION_STEPS.map((name) => ({
    name,
    timeoutMs: 30_000 + stepMs,
    async run(ctx) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, stepMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      });
      return {
        message: `${name}: stand-in step for ${ctx.tenant.slug}`,
        output: { standin: true },
        fleetUpdate:
          name === 'vm_create'
            ? { machine: { driver: 'local', name: `standin-${ctx.tenant.slug}`, zone: null, ip: '127.0.0.1' } }
            : name === 'complete'
              ? { dashboardUrl: `http://127.0.0.1/${ctx.tenant.slug}/` }
              : undefined,
      };
    },
  }));
}
