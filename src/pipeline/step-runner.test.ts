import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StepFailure, TerminalError, TransientError } from '../domain/step-errors.ts';
import type { StepContext, StepDefinition, StepResult } from './step.ts';
import { runStepWithRetries } from './step-runner.ts';

/**
 * The retry policy of every provisioning step, on fake timers: which failures are retried, how
 * long the runner waits between attempts, and how the attempt cap and the time budget end a step.
 */

const OK: StepResult = { message: 'done', output: { ok: true } };

/** A step whose attempts run `attempts[i]` in turn (the last one for any further attempt). */
function scriptedStep(...attempts: Array<(signal: AbortSignal) => Promise<StepResult>>) {
  const signals: AbortSignal[] = [];
  const step: StepDefinition = {
    name: 'agent_config',
    timeoutMs: 60_000,
    run: (ctx) => {
      signals.push(ctx.signal);
      return attempts[Math.min(signals.length, attempts.length) - 1]!(ctx.signal);
    },
  };
  return { step, calls: () => signals.length, signals };
}

const fail = (e: Error) => async (): Promise<StepResult> => {
  throw e;
};
const succeed = async () => OK;
const never = () => new Promise<StepResult>(() => {});

/** The runner uses only ctx.signal, ctx.log.info and ctx.progress. */
function context(outer = new AbortController()) {
  const info = vi.fn();
  const progress = vi.fn(async (_message: string) => {});
  const ctx = { signal: outer.signal, log: { info }, progress } as unknown as StepContext;
  return { ctx, info, outer, progress };
}

/** Follows a promise without letting its rejection go unhandled while timers are advanced. */
function track<T>(p: Promise<T>) {
  const s: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  p.then(
    (value) => Object.assign(s, { settled: true, value }),
    (error: unknown) => Object.assign(s, { settled: true, error }),
  );
  return s;
}

const backoffs = (info: ReturnType<typeof vi.fn>) => info.mock.calls.map((c) => (c[0] as { backoffMs: number }).backoffMs);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runStepWithRetries', () => {
  it('returns the result of a step that succeeds, running it once', async () => {
    const { step, calls } = scriptedStep(succeed);
    const { ctx, info } = context();
    await expect(runStepWithRetries(step, ctx, 60_000)).resolves.toEqual(OK);
    expect(calls()).toBe(1);
    expect(info).not.toHaveBeenCalled();
  });

  it('retries a transient failure with exponential backoff (250 ms * 2^attempt): not before it elapses, right after', async () => {
    const transient = new TransientError('503 from the git host');
    const { step, calls } = scriptedStep(fail(transient), fail(transient), fail(transient), succeed);
    const { ctx, info } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(1);
    for (const [before, backoff] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
    ] as const) {
      await vi.advanceTimersByTimeAsync(backoff - 1);
      expect(calls(), `attempt ${before + 1} must wait ${backoff} ms`).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls()).toBe(before + 1);
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toEqual({ settled: true, value: OK });
    expect(backoffs(info)).toEqual([500, 1000, 2000]);
    expect(info.mock.calls.map((c) => c[0])).toEqual([
      { attempt: 1, backoffMs: 500, reason: '503 from the git host' },
      { attempt: 2, backoffMs: 1000, reason: '503 from the git host' },
      { attempt: 3, backoffMs: 2000, reason: '503 from the git host' },
    ]);
  });

  it("honours a TransientError's retryAfterMs instead of the exponential backoff, longer or shorter", async () => {
    const { step, calls } = scriptedStep(
      fail(new TransientError('429', { retryAfterMs: 3000 })),
      fail(new TransientError('429', { retryAfterMs: 10 })),
      succeed,
    );
    const { ctx, info } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(2999);
    expect(calls()).toBe(1); // exponential would have retried at 500 ms
    await vi.advanceTimersByTimeAsync(1);
    expect(calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(9);
    expect(calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls()).toBe(3); // exponential would have waited 1000 ms
    expect(run).toEqual({ settled: true, value: OK });
    expect(backoffs(info)).toEqual([3000, 10]);
  });

  it('caps a retry-after at 15 s', async () => {
    const { step, calls } = scriptedStep(fail(new TransientError('429', { retryAfterMs: 120_000 })), succeed);
    const { ctx, info } = context();
    const run = track(runStepWithRetries(step, ctx, 300_000));

    await vi.advanceTimersByTimeAsync(14_999);
    expect(calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls()).toBe(2);
    expect(run).toEqual({ settled: true, value: OK });
    expect(backoffs(info)).toEqual([15_000]);
  });

  it('caps the backoff by what is left of the budget, then ends the step without another attempt', async () => {
    // The first attempt uses 9 of the 10 s, then asks to be retried in 5 s: only 1 s is left.
    const { step, calls } = scriptedStep(async () => {
      await new Promise((r) => setTimeout(r, 9000));
      throw new TransientError('mission control is restarting', { retryAfterMs: 5000 });
    }, succeed);
    const { ctx, info } = context();
    const run = track(runStepWithRetries(step, ctx, 10_000));

    await vi.advanceTimersByTimeAsync(9000);
    expect(backoffs(info)).toEqual([1000]);
    await vi.advanceTimersByTimeAsync(999);
    expect(run.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(run.settled).toBe(true);
    expect(run.error).toBeInstanceOf(TerminalError);
    expect((run.error as Error).message).toMatch(
      /^agent_config did not finish within 10 s \(last error: mission control is restarting\)\. Retry the fleet/,
    );
    expect(calls()).toBe(1);
  });

  it('gives up after 5 attempts of a transient failure with a TerminalError saying so', async () => {
    const transient = new TransientError('Discord answered 502');
    const { step, calls } = scriptedStep(fail(transient));
    const { ctx, info } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(500 + 1000 + 2000 + 4000 - 1);
    expect(calls()).toBe(4);
    expect(run.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls()).toBe(5);
    expect(run.settled).toBe(true);
    expect(run.error).toBeInstanceOf(TerminalError);
    expect((run.error as Error).message).toBe('Discord answered 502. Gave up after 5 attempts; retry the fleet when the cause is fixed.');
    expect((run.error as Error).cause).toBe(transient);
    expect(backoffs(info)).toEqual([500, 1000, 2000, 4000]);

    // Nothing is left scheduled: no sixth attempt, ever.
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls()).toBe(5);
  });

  it('tells the tenant about each retry once, as progress: what happened, when it tries again, which attempt', async () => {
    const { step } = scriptedStep(fail(new TransientError('Cloning acme/api failed on the network (connection refused)')), succeed);
    const { ctx, progress } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(500);
    expect(run.value).toBe(OK);
    expect(progress.mock.calls.map((c) => c[0])).toEqual([
      'Cloning acme/api failed on the network (connection refused). Trying again in 500 ms (attempt 2 of 5).',
    ]);
  });

  it('keeps the detail lines of a failure (tool output) below the one sentence that says what happens next', async () => {
    const transient = new TransientError('Installing the Discord plugin failed on a network error.\nopenclaw said:\nnpm error ECONNRESET');
    const { step } = scriptedStep(fail(transient));
    const { ctx, progress } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(60_000);
    expect(progress.mock.calls[0]?.[0]).toBe(
      'Installing the Discord plugin failed on a network error. Trying again in 500 ms (attempt 2 of 5).\nopenclaw said:\nnpm error ECONNRESET',
    );
    expect((run.error as Error).message).toBe(
      'Installing the Discord plugin failed on a network error. Gave up after 5 attempts; retry the fleet when the cause is fixed.\nopenclaw said:\nnpm error ECONNRESET',
    );
  });

  it('ends a step that never finishes when its budget runs out, aborting its signal', async () => {
    const { step, signals } = scriptedStep(never);
    const { ctx } = context();
    const run = track(runStepWithRetries(step, ctx, 1500));

    await vi.advanceTimersByTimeAsync(1499);
    expect(run.settled).toBe(false);
    expect(signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(run.settled).toBe(true);
    expect(run.error).toBeInstanceOf(TerminalError);
    const message = (run.error as Error).message;
    expect(message).toMatch(/^agent_config did not finish within 1\.5 s\. Retry the fleet/);
    expect(message).not.toContain('last error');
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  it('names the last transient error when the budget runs out on a later attempt', async () => {
    const { step, signals } = scriptedStep(fail(new TransientError('connection reset by the VM')), never);
    const { ctx } = context();
    const run = track(runStepWithRetries(step, ctx, 5000));

    await vi.advanceTimersByTimeAsync(500);
    expect(signals).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(4499);
    expect(run.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(run.error).toBeInstanceOf(TerminalError);
    expect((run.error as Error).message).toMatch(/^agent_config did not finish within 5 s \(last error: connection reset by the VM\)\./);
    expect(signals[0]!.aborted).toBe(false); // the first attempt ended by itself
    expect(signals[1]!.aborted).toBe(true);
  });

  it('does not retry a TerminalError: the same error ends the step', async () => {
    const terminal = new TerminalError('The git token was refused: check its scopes.');
    const { step, calls } = scriptedStep(fail(terminal), succeed);
    const { ctx, info } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toEqual({ settled: true, error: terminal });
    expect(calls()).toBe(1);
    expect(info).not.toHaveBeenCalled();
  });

  it('passes any other error through unchanged, without retrying it', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'ip')");
    const { step, calls } = scriptedStep(fail(bug), succeed);
    const { ctx, info } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toEqual({ settled: true, error: bug });
    expect(run.error).not.toBeInstanceOf(StepFailure);
    expect(calls()).toBe(1);
    expect(info).not.toHaveBeenCalled();
  });

  it('passes the outer abort on to the running attempt', async () => {
    const { step, signals } = scriptedStep(never);
    const { ctx, outer } = context();
    track(runStepWithRetries(step, ctx, 60_000));
    await vi.advanceTimersByTimeAsync(0);
    expect(signals[0]!.aborted).toBe(false);
    const reason = new Error('another worker took this run over');
    outer.abort(reason);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBe(reason);
  });

  it('does not retry a transient failure once the outer signal is aborted (the run was lost)', async () => {
    const transient = new TransientError('timeout talking to the VM');
    const outer = new AbortController();
    const { step, calls } = scriptedStep(async () => {
      outer.abort(new Error('another worker took this run over'));
      throw transient;
    }, succeed);
    const { ctx, info } = context(outer);
    const run = track(runStepWithRetries(step, ctx, 60_000));

    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls()).toBe(1);
    expect(run.error).toBeInstanceOf(TerminalError);
    expect((run.error as Error).cause).toBe(transient);
    expect(info).not.toHaveBeenCalled();
  });

  it('stops waiting for a step that ignores its aborted signal (a cancel) after a short grace, with the abort reason', async () => {
    const { step } = scriptedStep(never);
    const { ctx, outer } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));
    await vi.advanceTimersByTimeAsync(0);
    const reason = new Error('cancelled by user:user_a');
    outer.abort(reason);
    await vi.advanceTimersByTimeAsync(1500);
    expect(run.settled).toBe(false); // a step that watches its signal gets to end itself first
    await vi.advanceTimersByTimeAsync(1000);
    expect(run.error).toBe(reason);
  });

  it('makes no new attempt when the run is lost during the backoff', async () => {
    const transient = new TransientError('Discord answered 503');
    const { step, calls } = scriptedStep(fail(transient), succeed);
    const { ctx, outer } = context();
    const run = track(runStepWithRetries(step, ctx, 60_000));
    await vi.advanceTimersByTimeAsync(100); // inside the first 500 ms backoff
    outer.abort(new Error('another worker took this run over'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls()).toBe(1);
    expect(run.error).toBe(transient);
  });
});
