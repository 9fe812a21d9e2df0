import type { MiddlewareHandler } from 'hono';
import { matchedRoutes, routePath } from 'hono/route';
import type { AppDeps, AppEnv } from '../context.ts';
import { randomBytes } from 'node:crypto';
import { lazyChild } from '../../observability/lazy-child.ts';

const SAFE_REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * A new id is this process's random prefix and a count: unique across processes and restarts (the
 * prefix is 60 random bits), and nothing to draw per request (a randomUUID per request, with its
 * formatting, was ~2.5% of GET /api/fleet's CPU in a profile). An id finds a request's log lines;
 * it is no secret.
 */
const PROCESS_PREFIX = `req_${randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0').slice(0, 12)}`;
let requestCount = 0;

/** The caller's `X-Request-Id` when it is sane, otherwise a new id. */
export function requestIdOf(given: string | undefined): string {
  return given && SAFE_REQUEST_ID.test(given) ? given : `${PROCESS_PREFIX}${(++requestCount).toString(36)}`;
}

/** A finished request in the metrics (by route pattern) and, at info level, in the log. */
export function recordRequest(
  deps: Pick<AppDeps, 'metrics' | 'logger'>,
  r: { requestId: string; method: string; path: string; route: string; status: number; startedMs: number },
): void {
  const seconds = (performance.now() - r.startedMs) / 1000;
  deps.metrics.http.record(r.method, r.route, r.status, seconds);
  if (deps.logger.isLevelEnabled('info')) {
    deps.logger.info(
      { requestId: r.requestId, method: r.method, path: r.path, status: r.status, ms: Math.round(seconds * 1e4) / 10 },
      'request',
    );
  }
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane), a logger carrying it,
 * and records its latency and status by route pattern (never by raw path: ids would explode the
 * metric's cardinality).
 */
export function requestContext(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const startedMs = performance.now();
    const requestId = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', requestId);
    c.set('log', lazyChild(deps.logger, { requestId }));
    c.header('X-Request-Id', requestId);
    await next();
    // An error response is built after the line above ran; make sure it carries the id too.
    if (!c.res.headers.has('X-Request-Id')) c.res.headers.set('X-Request-Id', requestId);
    recordRequest(deps, { requestId, method: c.req.method, path: c.req.path, route: routeLabel(c), status: c.res.status, startedMs });
  };
}

/**
 * The pattern of the route that handles the request, even when a middleware answered first
 * (a 401 from `/api/fleet/*` auth on GET /api/fleet is counted as `/api/fleet`).
 */
function routeLabel(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path;
  return c.res.status === 404 && routePath(c) === '/*' ? 'unmatched' : routePath(c);
}
