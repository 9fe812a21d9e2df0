import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { verifyClerkDelivery, WebhookRefused } from '../../auth/clerk-webhook.ts';
import { handleClerkEvent } from '../../services/tenants/clerk-event.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';

const ClerkWebhookHandled = z
  .object({
    ok: z.literal(true),
    outcome: z.enum(['deprovisioning', 'tenant-removed', 'ignored', 'replayed']).openapi({
      description:
        '`deprovisioning`: the tenant’s fleet is being deprovisioned (runId); `tenant-removed`: it had no fleet and is gone; ' +
        '`ignored`: the event needs nothing (reason); `replayed`: this svix-id was handled before',
    }),
    runId: z.union([z.string(), z.null()]),
    reason: z.union([z.string(), z.null()]),
  })
  .openapi('ClerkWebhookHandled');

const route = createRoute({
  method: 'post',
  path: '/api/webhooks/clerk',
  operationId: 'receiveClerkWebhook',
  tags: ['Webhooks'],
  summary: 'Clerk webhook: a deleted organisation or user deprovisions its tenant',
  description:
    'Verified with `svix-id`, `svix-timestamp` and `svix-signature` against CLERK_WEBHOOK_SIGNING_SECRET (a timestamp more ' +
    'than 5 minutes off is refused). `organization.deleted` and `user.deleted` deprovision the tenant and remove it, as ' +
    'DELETE /api/tenants/{id} does (audited as `webhook`; the audit log is kept); other events need nothing. A delivery whose ' +
    'svix-id was handled before is acknowledged and ignored. 404 (saying what to set) while the server has no signing secret.',
  security: [],
  responses: {
    200: { description: 'Handled (or needs nothing)', content: { 'application/json': { schema: ClerkWebhookHandled } } },
    ...errorResponses(400, 404, 409, 429),
  },
});

export function registerClerkWebhook(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const secret = deps.config.clerkWebhookSecret;
    if (!secret) {
      // A 404, not a 503: nothing is broken, the endpoint is simply not switched on here.
      throw new ApiError(
        'not_found',
        'Clerk webhooks are not configured on this server: set CLERK_WEBHOOK_SIGNING_SECRET to the endpoint’s signing secret (Clerk dashboard → Webhooks).',
      );
    }
    let delivery: Awaited<ReturnType<typeof verifyClerkDelivery>>;
    try {
      // The raw text: the signature covers the bytes as sent (the body guards' JSON parse cached it).
      delivery = await verifyClerkDelivery(c.req.raw.headers, await c.req.text(), secret);
    } catch (e) {
      if (!(e instanceof WebhookRefused)) throw e;
      throw new ApiError('invalid_input', `Webhook refused: ${e.message}. Nothing was changed.`, { field: '(signature)' });
    }
    const handled = await handleClerkEvent(deps.services, delivery);
    c.get('log')?.info({ deliveryId: delivery.deliveryId, type: delivery.type, outcome: handled.outcome }, 'clerk webhook');
    return c.json(
      {
        ok: true as const,
        outcome: handled.outcome,
        runId: 'runId' in handled ? handled.runId : null,
        reason: 'reason' in handled ? handled.reason : null,
      },
      200,
    );
  });
}
