import { createParser } from 'eventsource-parser';

/**
 * Follows GET /api/fleet/events until `signal` aborts: a fetch-based EventSource, because the
 * browser's own cannot send the session token as a header. It reconnects with Last-Event-ID
 * (getting exactly what it missed) and a fresh token, e.g. after the server ended the stream at
 * the token's expiry or for a restart, and waits between attempts as long as the server's last
 * `retry:` field said (the server sends one when it restarts), or RECONNECT_MS before any.
 */
export type StreamState = { live: true } | { live: false; problem: string | null };

export const RECONNECT_MS = 1500;
/** Bounds on a server's `retry:`: a broken value must neither hammer the server nor stall the page. */
const MIN_RETRY_MS = 250;
const MAX_RETRY_MS = 60_000;

export interface EventStreamOptions {
  url: string;
  getToken(): Promise<string | null>;
  onEvent(type: string, data: unknown): void;
  onState(state: StreamState): void;
  signal: AbortSignal;
  fetch?: typeof fetch;
}

export async function followEventStream(o: EventStreamOptions): Promise<void> {
  const doFetch = o.fetch ?? fetch;
  let lastEventId: string | undefined;
  let reconnectMs = RECONNECT_MS;
  while (!o.signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${await o.getToken()}` };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const res = await doFetch(o.url, { headers, signal: o.signal });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
        o.onState({ live: false, problem: body?.error?.message ?? `The event stream answered ${res.status}.` });
        // Too many streams open (other tabs): asking again sooner than the server says only adds load.
        const retryAfter = Number(res.headers.get('retry-after'));
        if (res.status === 429 && retryAfter > 0) await sleep(retryAfter * 1000, o.signal);
      } else {
        o.onState({ live: true });
        const parser = createParser({
          onEvent: (ev) => {
            if (ev.id) lastEventId = ev.id;
            // The stream ends next; the loop reconnects (with a new token after an expiry).
            if (ev.event === 'session-expired' || ev.event === 'shutdown') return;
            o.onEvent(ev.event ?? 'message', JSON.parse(ev.data));
          },
          onRetry: (ms) => {
            reconnectMs = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, ms));
          },
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
        o.onState({ live: false, problem: null });
      }
    } catch (err) {
      if (o.signal.aborted) return;
      o.onState({ live: false, problem: `Live updates were interrupted (${(err as Error).message}); reconnecting.` });
    }
    await sleep(reconnectMs, o.signal);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
