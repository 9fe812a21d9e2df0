import type { z } from 'zod';

/**
 * The one error type of the services layer: a closed set of codes each transport maps once (the
 * API to HTTP statuses in src/api/app.ts). The message is shown to the caller as is, so it says
 * what happened and what to do; `field` names the input at fault.
 */
export type ServiceErrorCode =
  | 'invalid_input'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'illegal_transition'
  // More than the tenant's plan allows: a size (agents, repos) or a rate (runs per hour, with retryAfterSeconds).
  | 'payload_too_large'
  | 'rate_limited';

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly field?: string,
    /** When asking again may succeed (rate_limited). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** Parses a verb's input with its schema; the first problem becomes an `invalid_input` naming its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || '(body)';
  throw new ServiceError('invalid_input', `${field}: ${issue?.message ?? 'invalid'}`, field);
}
