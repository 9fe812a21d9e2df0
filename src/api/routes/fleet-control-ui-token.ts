import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { controlUiAccess } from '../../services/fleet/control-ui-token.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';

const ControlUiTokenSchema = z
  .object({
    ok: z.literal(true),
    dashboardUrl: z.string().openapi({ example: 'http://127.0.0.1:18789/' }),
    token: z.string().openapi({ description: 'The gateway token. Keep it out of URLs other than the fragment, and out of logs.' }),
    openUrl: z.string().openapi({ description: 'The Control UI signed in: `dashboardUrl#token=…` (a fragment never reaches a server).' }),
  })
  .openapi('ControlUiToken');

const route = createRoute({
  method: 'post',
  path: '/api/fleet/control-ui-token',
  operationId: 'createControlUiToken',
  tags: ['Fleet'],
  summary: "The gateway token that signs into the fleet's Control UI",
  description:
    'For org admins and owners of a personal tenant (403 for org members). The answer is never cached (`Cache-Control: no-store`). ' +
    'Open `openUrl`: the Control UI reads the token from the URL fragment, which the browser does not send to any server.',
  security: SECURITY_SESSION,
  responses: {
    200: { description: 'The Control UI and its token', content: { 'application/json': { schema: ControlUiTokenSchema } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

export function registerFleetControlUiToken(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const access = await controlUiAccess(deps.services, { principal: c.get('principal') });
    // A token in a cache (the browser's, a proxy's) outlives the session that asked for it.
    c.header('Cache-Control', 'no-store');
    c.header('Pragma', 'no-cache');
    const openUrl = `${access.dashboardUrl}#token=${encodeURIComponent(access.token)}`;
    return c.json({ ok: true as const, dashboardUrl: access.dashboardUrl, token: access.token, openUrl }, 200);
  });
}
