import { TerminalError, TransientError } from '../domain/step-errors.ts';

/**
 * Fault injection for the pipeline's tests (`FLEET_TEST_FAULTS=step:kind,…`; refused in
 * production by config.ts). Kinds: throw (terminal failure), transient (fails once per process,
 * then works), hang (never returns: the step's timeout must end it), kill (SIGKILL this process,
 * as a crashed worker).
 */
const firedTransient = new Set<string>();

export async function injectFault(faults: Map<string, string>, step: string): Promise<void> {
  const kind = faults.get(step);
  if (!kind) return;
  switch (kind) {
    case 'throw':
      throw new TerminalError(`Injected failure in ${step} (FLEET_TEST_FAULTS).`);
    case 'transient':
      if (!firedTransient.has(step)) {
        firedTransient.add(step);
        throw new TransientError(`Injected transient failure in ${step}.`, { retryAfterMs: 10 });
      }
      return;
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
