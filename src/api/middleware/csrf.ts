import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SESSION_COOKIE = /(?:^|;\s*)__session=/;

/**
 * Cross-site request forgery: a browser attaches Clerk's `__session` cookie to a request any
 * other site makes (a form post, an empty or `text/plain` fetch), and such a request started
 * provisioning. A state-changing request authenticated by that cookie alone must show that it
 * comes from our pages: an `Origin` that is the server's own or an authorized party, or
 * `Sec-Fetch-Site: same-origin`. A Bearer token cannot be attached by another site, so requests
 * with an Authorization header pass untouched, and so do requests with no session cookie
 * (authentication answers those).
 */
export function requireSameOriginForCookieSessions(authorizedParties: readonly string[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set(authorizedParties.map(originOf).filter((o): o is string => o !== undefined));
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || c.req.header('authorization') || !SESSION_COOKIE.test(c.req.header('cookie') ?? '')) {
      return next();
    }
    const origin = c.req.header('origin');
    const site = c.req.header('sec-fetch-site');
    const ownOrigin = new URL(c.req.url).origin;
    if (site === 'same-origin' || (origin && (origin === ownOrigin || allowed.has(originOf(origin) ?? '')))) return next();
    throw new ApiError(
      'forbidden',
      `Refused a cross-site ${c.req.method} with a cookie session (Origin: ${origin ?? 'none'}). Cookie sessions may change ` +
        'things only from this site or an authorized party; other clients send "Authorization: Bearer <token>".',
      { reason: 'cross-site-request' },
    );
  };
}

function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
