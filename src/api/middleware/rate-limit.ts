import type { Context, MiddlewareHandler } from 'hono';
import { MemoryStore, rateLimiter } from 'hono-rate-limiter';
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

function limiter(
  limit: number,
  key: (c: Context<AppEnv>) => string,
  who: string,
  store: MemoryStore<AppEnv> = new MemoryStore<AppEnv>(),
): MiddlewareHandler<AppEnv> {
  return rateLimiter<AppEnv>({
    windowMs: WINDOW_MS,
    limit,
    store,
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

const userKey = (userId: string) => `user:${userId}`;

/**
 * Per signed-in user (all their sessions and organisations together). `store`: the counts, shared
 * with GET /api/fleet's fast path (countUserRequest) so both count against one limit.
 */
export const userRateLimit = (limitPerMinute: number, store?: MemoryStore<AppEnv>) =>
  limiter(limitPerMinute, (c) => userKey(c.get('principal').userId), 'One user', store);

/**
 * Counts a request of `userId` in the user limit's `store` outside Hono, and answers the
 * `RateLimit` header the middleware would set (draft 7; `RateLimit-Policy` is constant, see
 * ratePolicy). Over the limit it takes the count back and answers undefined: the caller hands the
 * request to the middleware, which counts it again and answers the 429.
 */
export function countUserRequest(store: MemoryStore<AppEnv>, limitPerMinute: number, userId: string): string | undefined {
  const key = userKey(userId);
  // The memory store counts synchronously: the fast path needs no await (no promise, no microtask).
  const { totalHits, resetTime } = store.increment(key);
  if (totalHits > limitPerMinute) {
    store.decrement(key);
    return undefined;
  }
  const resetSeconds = resetTime ? Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : WINDOW_MS / 1000;
  return `limit=${limitPerMinute}, remaining=${Math.max(limitPerMinute - totalHits, 0)}, reset=${resetSeconds}`;
}

/** The `RateLimit-Policy` header of a per-minute limit. */
export const ratePolicy = (limitPerMinute: number) => `${limitPerMinute};w=${WINDOW_MS / 1000}`;

/** For the one platform token. */
export const platformRateLimit = (limitPerMinute: number) => limiter(limitPerMinute, () => 'platform', 'The platform token');

/** For Clerk's webhook, all senders together: it comes before verification, and Clerk retries a 429 later. */
export const webhookRateLimit = (limitPerMinute: number) => limiter(limitPerMinute, () => 'clerk-webhook', 'The Clerk webhook');
