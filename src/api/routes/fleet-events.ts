import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { clerkOwnerOf } from '../../auth/principal.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { fleetViewBounds, readFleetJson } from '../serialize.ts';
import { type SseStream, sseResponse } from '../sse-stream.ts';
import { StreamSlots } from '../stream-slots.ts';
import { latestEventId, ownerKey, prunedThrough } from '../../db/events.ts';
import { findTenantForClerk } from '../../db/tenants.ts';
import { BatchedEventReader } from '../../events/batched-event-reader.ts';

const route = createRoute({
  method: 'get',
  path: '/api/fleet/events',
  operationId: 'streamFleetEvents',
  tags: ['Fleet'],
  summary: "Server-Sent Events: the caller's fleet status changes and provision-log entries, live",
  description:
    'First a `snapshot` event with the whole fleet (as GET /api/fleet), then `status` and `log` events as any worker ' +
    'writes them. Each event has an id; reconnect with `Last-Event-ID` to receive what was missed instead of a snapshot. ' +
    'The stream ends when the session token expires, after a `session-expired` event: reconnect with a fresh token and ' +
    '`Last-Event-ID`. A stopping server ends it after a `shutdown` event whose `retry:` field says when to reconnect. A user holds at most FLEET_MAX_STREAMS_PER_USER streams at once (429 past it).',
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
    ...errorResponses(400, 401, 429),
  },
});

const KEEPALIVE_MS = 15_000;
// A stream slot frees when a client leaves, which a refused client cannot know: a short, fixed wait.
const STREAM_RETRY_AFTER_SECONDS = 10;
const MAX_TIMER_MS = 2 ** 31 - 1;
// A stopping server's clients reconnect after this (to another API process, or this one restarted).
const SHUTDOWN_RETRY_MS = 1000;

export function registerFleetEvents(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const slots = new StreamSlots(deps.config.http.maxStreamsPerUser);
  // One reader for every stream of this app: the reads a NOTIFY causes go out as one statement.
  const reader = new BatchedEventReader(deps.db);
  app.openapi(route, (c) => {
    const principal = c.get('principal');
    const release = slots.tryAcquire(principal.userId);
    if (!release) {
      c.header('Retry-After', String(STREAM_RETRY_AFTER_SECONDS));
      throw new ApiError(
        'rate_limited',
        `You already have ${slots.maxPerUser} event streams open, the most one user may hold. Close one (a dashboard needs only one) and try again.`,
        { limit: slots.maxPerUser },
      );
    }
    const lastEventId = c.req.valid('header')['last-event-id'];
    const expiresAtMs = c.get('sessionExpiresAtMs');
    const log = c.get('log');
    return sseResponse(
      c,
      async (stream) => {
        // A client that leaves frees its slot at once, even while the stream is still setting up.
        stream.onAbort(release);
        try {
          await followFleet(deps, reader, stream, clerkOwnerOf(principal), lastEventId, expiresAtMs);
        } finally {
          release(); // whatever ended the stream: the count must never leak
        }
      },
      (err) => log.error({ err }, 'event stream failed'),
    );
  });
}

/** Streams the owner's fleet until the client leaves or the session expires. */
async function followFleet(
  deps: AppDeps,
  reader: BatchedEventReader,
  stream: SseStream,
  lookup: ReturnType<typeof clerkOwnerOf>,
  lastEventId: string | undefined,
  expiresAtMs: number,
): Promise<void> {
  let tenantId = (await findTenantForClerk(deps.db, lookup))?.id;
  let cursor = Number(lastEventId ?? 0);
  // A client resuming from before the prune horizon may have missed events that are gone: it
  // starts over with a snapshot, like a fresh one, rather than replay with a silent gap.
  const horizon = lastEventId === undefined ? 0 : await prunedThrough(deps.db);
  if (lastEventId === undefined || (horizon > 0 && cursor <= horizon)) {
    // A fresh client: the current state, then only what happens from now on.
    cursor = tenantId ? await latestEventId(deps.db, tenantId) : 0;
    const fleet = tenantId ? ((await readFleetJson(deps.db, { tenantId }, fleetViewBounds(deps.config)))?.fleet ?? null) : null;
    await stream.writeSSE({ event: 'snapshot', id: String(cursor), data: JSON.stringify({ fleet }) });
  }

  // The stream wakes only for its own tenant's events; before the tenant exists, only when a
  // tenant for this owner is created. Other tenants' events never cost it a query.
  const unsubscribe: Array<() => void> = [];
  let waitingForTenant: (() => void) | undefined;
  let following = false;
  const follow = (id: string) => {
    if (following) return; // a stream's tenant never changes once known
    following = true;
    tenantId = id;
    waitingForTenant?.();
    waitingForTenant = undefined;
    unsubscribe.push(deps.events.subscribeTenant(id, pump));
  };

  // Deliveries are serialised: one pump at a time, each reading everything after the cursor.
  let pumping: Promise<void> = Promise.resolve();
  function pump(): void {
    pumping = pumping
      .then(async () => {
        if (stream.aborted) return;
        if (!tenantId) {
          const found = (await findTenantForClerk(deps.db, lookup))?.id;
          if (!found) return;
          follow(found);
        }
        for (const r of await reader.after(tenantId!, cursor)) {
          await stream.writeSSE({ event: r.type, id: String(r.id), data: r.data });
          cursor = r.id;
        }
      })
      .catch(() => {});
  }

  if (tenantId) follow(tenantId);
  else {
    waitingForTenant = deps.events.onTenantCreated(ownerKey(lookup), (id) => {
      follow(id);
      pump();
    });
  }
  unsubscribe.push(deps.events.onReconnect(pump));
  pump(); // replay after Last-Event-ID, or anything written while we set up

  const keepalive = setInterval(() => void stream.write(': keepalive\n\n').catch(() => {}), KEEPALIVE_MS);
  let expiry: NodeJS.Timeout | undefined;
  const ended = await new Promise<'aborted' | 'expired' | 'shutdown'>((resolve) => {
    stream.onAbort(() => resolve('aborted'));
    if (deps.shutdown?.aborted) resolve('shutdown');
    deps.shutdown?.addEventListener('abort', () => resolve('shutdown'), { once: true });
    // A client that left while we set up has already aborted: don't wait for an abort that came.
    if (stream.aborted) resolve('aborted');
    // An expired (or, within the token's short life, revoked) session must stop receiving the log.
    expiry = setTimeout(() => resolve('expired'), Math.min(MAX_TIMER_MS, Math.max(0, expiresAtMs - Date.now())));
  });
  clearInterval(keepalive);
  clearTimeout(expiry);
  waitingForTenant?.();
  for (const u of unsubscribe) u();
  if (ended === 'shutdown' && !stream.aborted) {
    // Everything written so far is delivered first; `retry` tells the browser's EventSource when to
    // reconnect (with Last-Event-ID, so nothing is missed), and the stream ends.
    await pumping;
    await stream.writeSSE({
      event: 'shutdown',
      retry: SHUTDOWN_RETRY_MS,
      data: JSON.stringify({ message: 'The server is restarting. Reconnect with Last-Event-ID to continue.' }),
    });
  }
  if (ended === 'expired' && !stream.aborted) {
    await pumping;
    await stream.writeSSE({
      event: 'session-expired',
      data: JSON.stringify({ message: 'The session token expired. Reconnect with a fresh token and Last-Event-ID to continue.' }),
    });
  }
}
