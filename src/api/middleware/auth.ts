import type { MiddlewareHandler } from 'hono';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { platformTokenMatches } from '../../auth/platform.ts';

/** Tenant routes: a verified Clerk session, or 401 with a short reason code. */
export function requireSession(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const result = await deps.verifier.authenticate(c.req.raw);
    if (!result.ok) {
      throw new ApiError(
        'unauthenticated',
        result.reason === 'missing-credentials'
          ? 'Sign in first: send a Clerk session token as "Authorization: Bearer <token>" or the __session cookie.'
          : 'The session token was rejected. Sign in again to get a new one.',
        { reason: result.reason },
      );
    }
    c.set('principal', result.principal);
    c.set('sessionExpiresAtMs', result.expiresAtMs);
    await next();
  };
}

/** Platform routes: the `X-Platform-Token` header, compared in constant time. */
export function requirePlatformToken(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header('x-platform-token');
    if (!platformTokenMatches(deps.platformToken, given)) {
      throw new ApiError(
        'unauthenticated',
        given ? 'The X-Platform-Token header is not valid.' : 'This is a platform route: send the X-Platform-Token header.',
        { reason: given ? 'platform-token-invalid' : 'missing-credentials' },
      );
    }
    await next();
  };
}
