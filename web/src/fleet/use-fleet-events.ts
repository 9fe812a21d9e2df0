import { useQueryClient } from '@tanstack/react-query';
import { createParser } from 'eventsource-parser';
import { useEffect, useState } from 'react';
import { useSession } from '../session/session.ts';
import { applyFleetEvent } from './fleet-queries.ts';

export type StreamState = { live: true } | { live: false; problem: string | null };

const RECONNECT_MS = 1500;

/**
 * Follows GET /api/fleet/events into the query cache. A fetch-based EventSource: the browser's own
 * cannot send the session token as a header. It reconnects with Last-Event-ID (getting exactly
 * what it missed) and a fresh token, e.g. after the server ended it at the token's expiry.
 */
export function useFleetEvents(): StreamState {
  const session = useSession();
  const client = useQueryClient();
  const [state, setState] = useState<StreamState>({ live: false, problem: null });

  useEffect(() => {
    const abort = new AbortController();
    let lastEventId: string | undefined;
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          const headers: Record<string, string> = {
            accept: 'text/event-stream',
            authorization: `Bearer ${await session.getToken()}`,
          };
          if (lastEventId) headers['last-event-id'] = lastEventId;
          const res = await fetch('/api/fleet/events', { headers, signal: abort.signal });
          if (!res.ok || !res.body) {
            const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
            setState({ live: false, problem: body?.error?.message ?? `The event stream answered ${res.status}.` });
            // Too many streams open (other tabs): asking again sooner than the server says only adds load.
            const retryAfter = Number(res.headers.get('retry-after'));
            if (res.status === 429 && retryAfter > 0) await new Promise((r) => setTimeout(r, retryAfter * 1000));
          } else {
            setState({ live: true });
            const parser = createParser({
              onEvent: (ev) => {
                if (ev.id) lastEventId = ev.id;
                if (ev.event === 'session-expired') return; // the stream ends next; the loop reconnects with a new token
                applyFleetEvent(client, ev.event ?? 'message', JSON.parse(ev.data));
              },
            });
            const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              parser.feed(value);
            }
            setState({ live: false, problem: null });
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          setState({ live: false, problem: `Live updates were interrupted (${(err as Error).message}); reconnecting.` });
        }
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
      }
    };
    void run();
    return () => abort.abort();
  }, [session, client]);

  return state;
}
