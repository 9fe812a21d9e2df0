import type { Context, MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

/**
 * Fixed one-minute windows counted in this process's memory (hono-rate-limiter's MemoryStore):
 * with N API processes a caller gets up to N times the limit. Each answer carries the
 * `RateLimit` and `RateLimit-Policy` headers (draft 7 of the IETF rate-limit headers), a 429
 * also `Retry-After`. Placed after authentication, so the key is a verified identity and
 * requests with bad credentials (already 401) count against no one.
 */
const WINDOW_MS = 60_000;

function limiter(limit: number, key: (c: Context<AppEnv>) => string, who: string): MiddlewareHandler<AppEnv> {
  return rateLimiter<AppEnv>({
    windowMs: WINDOW_MS,
    limit,
    standardHeaders: 'draft-7',
    keyGenerator: key,
    handler: (c) => {
      const retryAfter = c.res.headers.get('Retry-After') ?? String(WINDOW_MS / 1000);
      throw new ApiError(
        'rate_limited',
        `${who} may send at most ${limit} requests a minute; this one is over. Retry in ${retryAfter} s.`,
        {
          limit,
          retryAfterSeconds: Number(retryAfter),
        },
      );
    },
  });
}

/** Per signed-in user (all their sessions and organisations together). */
export const userRateLimit = (limitPerMinute: number) => limiter(limitPerMinute, (c) => `user:${c.get('principal').userId}`, 'One user');

/** For the one platform token. */
export const platformRateLimit = (limitPerMinute: number) => limiter(limitPerMinute, () => 'platform', 'The platform token');

/** For Clerk's webhook, all senders together: it comes before verification, and Clerk retries a 429 later. */
export const webhookRateLimit = (limitPerMinute: number) => limiter(limitPerMinute, () => 'clerk-webhook', 'The Clerk webhook');
