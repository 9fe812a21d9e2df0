import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses } from '../schemas.ts';

const SignInOptions = z
  .object({
    ok: z.literal(true),
    mode: z.enum(['dev', 'clerk']).openapi({ description: '`dev`: POST /api/dev/session; `clerk`: sign in with Clerk' }),
    clerkPublishableKey: z.string().nullable(),
  })
  .openapi('SignInOptions');

const route = createRoute({
  method: 'get',
  path: '/api/sign-in-options',
  operationId: 'getSignInOptions',
  tags: ['Dev sign-in'],
  summary: 'How the dashboard signs people in on this server',
  security: [],
  responses: {
    200: { description: 'The sign-in mode', content: { 'application/json': { schema: SignInOptions } } },
    ...errorResponses(),
  },
});

export function registerSignInOptions(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, (c) =>
    c.json(
      {
        ok: true as const,
        mode: deps.devSignIn ? ('dev' as const) : ('clerk' as const),
        clerkPublishableKey: deps.devSignIn ? null : (deps.clerkPublishableKey ?? null),
      },
      200,
    ),
  );
}
