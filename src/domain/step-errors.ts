/**
 * Typed failures for provisioning steps. The executor retries a `TransientError` with backoff
 * inside the step (timeouts, 5xx, 429); a `TerminalError` ends the run, puts the fleet in `error`
 * and its message is shown to the user as is — so it must say what went wrong and what to do.
 */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly kind: 'transient' | 'terminal',
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = kind === 'transient' ? 'TransientError' : 'TerminalError';
    this.retryAfterMs = options?.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

export class TransientError extends StepFailure {
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, 'transient', options);
  }
}

export class TerminalError extends StepFailure {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'terminal', options);
  }
}

/** Turns anything thrown into an Error, keeping the original as `cause`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown), { cause: thrown });
}
