import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { tokenMatches } from '../../auth/token-match.ts';
import { databaseAnswers } from '../../db/ping.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { ErrorSchema } from '../schemas.ts';

const live = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getLiveness',
  tags: ['Operations'],
  summary: 'The process is up',
  security: [], // probes carry no credentials
  responses: { 200: { description: 'Up', content: { 'application/json': { schema: z.object({ ok: z.literal(true) }) } } } },
});

const ready = createRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'getReadiness',
  tags: ['Operations'],
  summary: 'The database answers',
  security: [],
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: z.object({ ok: z.literal(true) }) } } },
    503: { description: 'The database does not answer', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags: ['Operations'],
  summary: 'Prometheus metrics',
  description: 'Public unless FLEET_METRICS_TOKEN is set; then send it as `Authorization: Bearer <token>`.',
  // `{}` first: no credentials is one accepted way, the metrics token the other.
  security: [{}, { metricsToken: [] }],
  responses: {
    200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
    401: { description: 'FLEET_METRICS_TOKEN is set and was not sent', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export function registerHealth(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(live, (c) => c.json({ ok: true as const }, 200));
  app.openapi(ready, async (c) => {
    try {
      await databaseAnswers(deps.db, 2000);
      return c.json({ ok: true as const }, 200);
    } catch (e) {
      c.get('log').warn({ err: e }, 'readiness check failed');
      return c.json(
        {
          ok: false as const,
          error: { code: 'unavailable' as const, message: 'The database does not answer.', requestId: c.get('requestId') },
        },
        503,
      );
    }
  });
  const metricsToken = deps.config.metricsToken;
  app.openapi(metrics, async (c) => {
    if (metricsToken !== undefined) {
      const given = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      if (!tokenMatches(metricsToken, given)) {
        c.header('WWW-Authenticate', 'Bearer realm="metrics"');
        throw new ApiError(
          'unauthenticated',
          given
            ? "The bearer token is not this server's FLEET_METRICS_TOKEN."
            : 'Send the FLEET_METRICS_TOKEN as "Authorization: Bearer <token>" to read /metrics.',
          { reason: given ? 'metrics-token-invalid' : 'missing-credentials' },
        );
      }
    }
    const body = await deps.metrics.registry.metrics();
    return c.text(body, 200, { 'Content-Type': deps.metrics.registry.contentType });
  });
}
