import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useSession } from '../session/session.ts';
import { followEventStream, type StreamState } from './event-stream.ts';
import { applyFleetEvent } from './fleet-queries.ts';

export type { StreamState } from './event-stream.ts';

/** Follows GET /api/fleet/events (event-stream.ts) into the query cache while the page is open. */
export function useFleetEvents(): StreamState {
  const session = useSession();
  const client = useQueryClient();
  const [state, setState] = useState<StreamState>({ live: false, problem: null });

  useEffect(() => {
    const abort = new AbortController();
    void followEventStream({
      url: '/api/fleet/events',
      getToken: () => session.getToken(),
      onEvent: (type, data) => applyFleetEvent(client, type, data),
      onState: setState,
      signal: abort.signal,
    });
    return () => abort.abort();
  }, [session, client]);

  return state;
}
