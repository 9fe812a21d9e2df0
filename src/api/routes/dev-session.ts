import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv, DevSignIn } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';

const DevSessionRequest = z
  .object({
    userId: z.string().regex(/^user_[A-Za-z0-9]{1,64}$/, 'must look like a Clerk user id (user_ and letters or digits)'),
    orgId: z
      .string()
      .regex(/^org_[A-Za-z0-9]{1,64}$/, 'must look like a Clerk organisation id (org_ and letters or digits)')
      .optional(),
    orgRole: z.enum(['admin', 'member']).optional(),
  })
  .strict()
  .openapi('DevSessionRequest');

const route = createRoute({
  method: 'post',
  path: '/api/dev/session',
  operationId: 'createDevSession',
  tags: ['Dev sign-in'],
  summary: 'Dev sign-in: a session token for the user (and organisation) named',
  description:
    'Exists only with dev sign-in (no Clerk settings, never in production; the server then listens on loopback only). ' +
    'Answers only requests addressed to a loopback host name, so a page on another site cannot reach it by DNS rebinding.',
  security: [],
  request: { body: { content: { 'application/json': { schema: DevSessionRequest } }, required: true } },
  responses: {
    200: {
      description: 'A session token',
      content: {
        'application/json': { schema: z.object({ ok: z.literal(true), token: z.string(), expiresAt: z.string() }).openapi('DevSession') },
      },
    },
    ...errorResponses(400, 403),
  },
});

// The names dev sign-in is served under: it listens on loopback only (config.ts).
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

export function registerDevSession(app: OpenAPIHono<AppEnv>, devSignIn: DevSignIn): void {
  app.openapi(route, (c) => {
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    if (!LOOPBACK_HOST.test(host)) {
      throw new ApiError('forbidden', `Dev sign-in answers on loopback host names only (localhost, 127.0.0.1, [::1]), not '${host}'.`);
    }
    const body = c.req.valid('json');
    if (body.orgRole && !body.orgId)
      throw new ApiError('invalid_input', 'orgRole: give orgId too, or leave both out', { field: 'orgRole' });
    const { token, expiresAtMs } = devSignIn.mint({
      userId: body.userId,
      ...(body.orgId ? { orgId: body.orgId, orgRole: body.orgRole ?? 'admin' } : {}),
    });
    c.header('Cache-Control', 'no-store');
    return c.json({ ok: true as const, token, expiresAt: new Date(expiresAtMs).toISOString() }, 200);
  });
}
