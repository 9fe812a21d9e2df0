import { TerminalError, TransientError } from '../domain/step-errors.ts';

/**
 * Fault injection for the pipeline's tests (`FLEET_TEST_FAULTS=step:kind,…`; refused in
 * production by config.ts). Kinds: throw (terminal failure), transient (fails once per plan,
 * then works), hang (never returns: the step's timeout must end it), kill (SIGKILL this process,
 * as a crashed worker).
 *
 * The plan (step → kind) belongs to the pipeline settings and counts how often each fault fired,
 * so a test can tell a fault that fired and was recovered from from one that never fired.
 */
export class FaultPlan extends Map<string, string> {
  readonly #fired = new Map<string, number>();

  /** How many times the fault planned for `step` fired since the plan was made or cleared. */
  fired(step: string): number {
    return this.#fired.get(step) ?? 0;
  }

  /** The fault to inject at `step` now (counted as fired), or undefined: none, or a transient one already spent. */
  fire(step: string): string | undefined {
    const kind = this.get(step);
    if (!kind || (kind === 'transient' && this.fired(step) > 0)) return undefined;
    this.#fired.set(step, this.fired(step) + 1);
    return kind;
  }

  /** Removes every fault and forgets what fired (a transient fault planned again fails again). */
  override clear(): void {
    super.clear();
    this.#fired.clear();
  }
}

export async function injectFault(plan: FaultPlan, step: string): Promise<void> {
  const kind = plan.fire(step);
  if (!kind) return;
  switch (kind) {
    case 'throw':
      throw new TerminalError(`Injected failure in ${step} (FLEET_TEST_FAULTS).`);
    case 'transient':
      throw new TransientError(`Injected transient failure in ${step}.`, { retryAfterMs: 10 });
    case 'hang':
      await new Promise(() => {});
      return;
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
      return;
    default:
      throw new Error(`Unknown fault kind '${kind}' for ${step}`);
  }
}
