import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { clerkOwnerOf } from '../../auth/principal.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { readFleetJson } from '../serialize.ts';
import { eventsAfter, latestEventId } from '../../db/events.ts';
import { findTenantForClerk } from '../../db/tenants.ts';

const route = createRoute({
  method: 'get',
  path: '/api/fleet/events',
  tags: ['Fleet'],
  summary: "Server-Sent Events: the caller's fleet status changes and provision-log entries, live",
  description:
    'First a `snapshot` event with the whole fleet (as GET /api/fleet), then `status` and `log` events as any worker ' +
    'writes them. Each event has an id; reconnect with `Last-Event-ID` to receive what was missed instead of a snapshot.',
  security: SECURITY_SESSION,
  request: {
    headers: z.object({
      'last-event-id': z
        .string()
        .regex(/^\d{1,18}$/)
        .optional(),
    }),
  },
  responses: {
    200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...errorResponses(400, 401),
  },
});

const KEEPALIVE_MS = 15_000;

export function registerFleetEvents(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, (c) => {
    const principal = c.get('principal');
    const lookup = clerkOwnerOf(principal);
    const lastEventId = c.req.valid('header')['last-event-id'];
    return streamSSE(c, async (stream) => {
      let tenantId = (await findTenantForClerk(deps.db, lookup))?.id;
      let cursor = Number(lastEventId ?? 0);
      if (lastEventId === undefined) {
        // A fresh client: the current state, then only what happens from now on.
        cursor = tenantId ? await latestEventId(deps.db, tenantId) : 0;
        const fleet = tenantId ? ((await readFleetJson(deps.db, { tenantId }))?.fleet ?? null) : null;
        await stream.writeSSE({ event: 'snapshot', id: String(cursor), data: JSON.stringify({ fleet }) });
      }

      // Deliveries are serialised: one pump at a time, each reading everything after the cursor.
      let pumping: Promise<void> = Promise.resolve();
      const pump = () => {
        pumping = pumping
          .then(async () => {
            if (stream.aborted) return;
            tenantId ??= (await findTenantForClerk(deps.db, lookup))?.id;
            if (!tenantId) return;
            for (const r of await eventsAfter(deps.db, tenantId, cursor, 1000)) {
              await stream.writeSSE({ event: r.type, id: String(r.id), data: JSON.stringify(r.data) });
              cursor = r.id;
            }
          })
          .catch(() => {});
      };
      const unsubscribe = deps.events.subscribe((tid) => {
        if (!tenantId || tid === tenantId) pump();
      });
      const unReconnect = deps.events.onReconnect(pump);
      pump(); // replay after Last-Event-ID, or anything written while we set up
      const keepalive = setInterval(() => void stream.write(': keepalive\n\n').catch(() => {}), KEEPALIVE_MS);
      // A client that left while we set up has already aborted: don't wait for an abort that came.
      await new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        if (stream.aborted) resolve();
      });
      clearInterval(keepalive);
      unsubscribe();
      unReconnect();
    });
  });
}
