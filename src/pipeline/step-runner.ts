import { StepFailure, TerminalError } from '../domain/step-errors.ts';
import type { StepContext, StepDefinition, StepResult } from './step.ts';
import { gaveUpMessage, retryingMessage, timedOutMessage } from './step-messages.ts';

const MAX_ATTEMPTS = 5;
const ABORT_GRACE_MS = 2000;

class StepTimeout extends Error {}

/**
 * Runs a step within its time budget, retrying transient failures with backoff (honouring a
 * server's retry-after). A timeout or a terminal failure ends the step with a message saying
 * which step and why. The step's signal is aborted when the budget runs out, so well-behaved
 * steps stop their child processes and requests.
 */
export async function runStepWithRetries(
  step: StepDefinition,
  ctx: StepContext,
  budgetMs: number,
  beforeAttempt: () => Promise<void> = async () => {},
): Promise<StepResult> {
  const deadline = Date.now() + budgetMs;
  let lastError: StepFailure | undefined;
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw budgetExceeded(step, budgetMs, lastError);
    const attemptAbort = new AbortController();
    // A cancelled or lost run is told through the signal; a step that watches it ends itself (with
    // its own error), one that does not is no longer waited for after ABORT_GRACE_MS.
    let graceTimer: NodeJS.Timeout | undefined;
    let rejectAborted: (e: unknown) => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      rejectAborted = reject;
    });
    const onOuterAbort = () => {
      attemptAbort.abort(ctx.signal.reason);
      graceTimer = setTimeout(() => rejectAborted(ctx.signal.reason), ABORT_GRACE_MS);
    };
    if (ctx.signal.aborted) throw ctx.signal.reason;
    ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StepTimeout()), remaining);
      });
      return await Promise.race([
        (async () => {
          await beforeAttempt();
          return step.run({ ...ctx, signal: attemptAbort.signal });
        })(),
        timeout,
        aborted,
      ]);
    } catch (e) {
      if (e instanceof StepTimeout) {
        attemptAbort.abort(new Error('step timed out'));
        throw budgetExceeded(step, budgetMs, lastError);
      }
      if (!(e instanceof StepFailure) || e.kind !== 'transient' || attempt >= MAX_ATTEMPTS || ctx.signal.aborted) {
        if (e instanceof StepFailure && e.kind === 'transient') {
          throw new TerminalError(gaveUpMessage(e, attempt), { cause: e });
        }
        throw e;
      }
      lastError = e;
      const backoff = Math.min(e.retryAfterMs ?? 250 * 2 ** attempt, 15_000, Math.max(0, deadline - Date.now()));
      ctx.log.info({ attempt, backoffMs: backoff, reason: e.message }, 'transient failure, retrying');
      // The tenant sees why the step takes longer, and when it tries again; a log write that fails must not end the step.
      await ctx
        .progress(retryingMessage(e, attempt + 1, MAX_ATTEMPTS, backoff))
        .catch((err: unknown) => ctx.log.warn({ err }, 'could not record the retry in the provision log'));
      await new Promise((r) => setTimeout(r, backoff));
      // The run was lost (or cancelled) while we waited: another worker owns it now, so no new attempt.
      if (ctx.signal.aborted) throw e;
    } finally {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      ctx.signal.removeEventListener('abort', onOuterAbort);
    }
  }
}

function budgetExceeded(step: StepDefinition, budgetMs: number, last: StepFailure | undefined): TerminalError {
  return new TerminalError(timedOutMessage(step.name, budgetMs, last));
}
