import type { StepFailure } from '../domain/step-errors.ts';

/**
 * The texts a tenant reads in the provision log when a step fails, composed in one place. A
 * failure's own message says what happened (and, for a terminal one, what to fix); only the code
 * that decides what happens next (step-runner.ts, executor.ts) adds it, once: retrying now, given
 * up, or cancelled. So no message both promises a retry and reports giving up.
 */

/** `text` as a sentence: a trailing full stop when it has none. */
function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** `clause` right after the message's first line: a multi-line message keeps its detail (tool output) below. */
function withClause(message: string, clause: string): string {
  const [head = '', ...detail] = message.split('\n');
  return [`${sentence(head)} ${clause}`, ...detail].join('\n');
}

const waitText = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`);

/** A transient failure that will be tried again: shown while the step waits (a progress entry). */
export function retryingMessage(failure: StepFailure, nextAttempt: number, maxAttempts: number, waitMs: number): string {
  return withClause(failure.message, `Trying again in ${waitText(waitMs)} (attempt ${nextAttempt} of ${maxAttempts}).`);
}

/** A transient failure that happened on every attempt: the step, and the run, end in error. */
export function gaveUpMessage(failure: StepFailure, attempts: number): string {
  return withClause(failure.message, `Gave up after ${attempts} attempts; retry the fleet when the cause is fixed.`);
}

/** A step that used up its time budget, naming the last transient failure (if any) it was retrying. */
export function timedOutMessage(step: string, budgetMs: number, last: StepFailure | undefined): string {
  const s = Math.round(budgetMs / 100) / 10;
  return (
    `${step} did not finish within ${s} s${last ? ` (last error: ${last.message.trim().replace(/\.$/, '')})` : ''}. ` +
    "Retry the fleet; if it times out again, check the machine and the step's log."
  );
}

/** A run cancelled at (or before) `step`: the fleet is in error, and a retry resumes there. */
export function cancelledMessage(step: string, by: string | undefined): string {
  return `Cancelled by ${by ?? 'request'} during ${step}. Nothing after it ran; retry the fleet to resume at this step, or deprovision it.`;
}

/** Anything thrown that is not a step failure (a bug): which step and run, never a stack. */
export function unexpectedMessage(step: string, error: Error, runId: string): string {
  return `${step} failed unexpectedly (${error.message.trim().replace(/\.$/, '')}). Retry the fleet; if it fails the same way, report run ${runId}.`;
}
