import { type QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import { callApi } from '../api.ts';
import { useSession } from '../session/session.ts';
import type { Fleet, LogEntry, Template } from './fleet-types.ts';
import { withEntry } from './timeline-model.ts';

export const FLEET_KEY = ['fleet'] as const;

/** GET /api/fleet, kept current by the event stream (useFleetEvents) rather than by polling. */
export function useFleet() {
  const session = useSession();
  const client = useQueryClient();
  return useQuery({
    queryKey: FLEET_KEY,
    queryFn: () => readFleet(client, async () => (await callApi<{ fleet: Fleet | null }>(session, '/api/fleet')).fleet),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

type LiveEvent = { type: string; data: unknown };

/** Per query client, the live events each read of GET /api/fleet under way has seen arrive. */
const readsUnderWay = new WeakMap<QueryClient, Set<LiveEvent[]>>();

/**
 * Reads the fleet, then replays on the answer the live events that arrived while it was under way.
 * The server read the fleet before some of them: an answer that simply replaced the cache would
 * drop them, and nothing brings them back until the next event (a running step's progress line,
 * written just after the commit whose event asked for this read, vanished until the step ended).
 * Replaying one the answer already has changes nothing: entries are deduplicated, a status is set.
 */
export async function readFleet(client: QueryClient, read: () => Promise<Fleet | null>): Promise<Fleet | null> {
  const missed: LiveEvent[] = [];
  const reads = readsUnderWay.get(client) ?? new Set<LiveEvent[]>();
  readsUnderWay.set(client, reads);
  reads.add(missed);
  try {
    const fleet = await read();
    return missed.reduce<Fleet | null>((f, ev) => {
      const next = withEvent(f, ev.type, ev.data);
      return next === undefined ? f : next;
    }, fleet);
  } finally {
    reads.delete(missed);
  }
}

/** The fleet as one event of GET /api/fleet/events leaves it; undefined when the event needs a full read. */
function withEvent(fleet: Fleet | null | undefined, type: string, data: unknown): Fleet | null | undefined {
  if (type === 'snapshot') return (data as { fleet: Fleet | null }).fleet;
  if (type === 'status') {
    const { status } = data as { status: Fleet['status'] | null };
    // A deprovisioned fleet is gone (status null): the page shows "no fleet yet", never a fleet without a status.
    if (status === null) return null;
    return fleet ? { ...fleet, status } : undefined;
  }
  if (type === 'log' && fleet) return { ...fleet, provisionLog: withEntry(fleet.provisionLog, data as LogEntry) };
  return undefined;
}

export function useTemplates(enabled: boolean) {
  const session = useSession();
  return useQuery({
    queryKey: ['templates'],
    queryFn: async () => {
      const body = await callApi<{ templates: Template[]; sampleRepo?: string }>(session, '/api/templates');
      // On a dev machine the server keeps a local sample repo: offered where a template names none, so a first fleet needs no internet.
      const sample = body.sampleRepo;
      return sample ? body.templates.map((t) => (t.repos.length === 0 ? { ...t, repos: [sample] } : t)) : body.templates;
    },
    enabled,
  });
}

/** Applies one event of GET /api/fleet/events to the cached fleet (and to the reads under way). */
export function applyFleetEvent(client: QueryClient, type: string, data: unknown): void {
  for (const missed of readsUnderWay.get(client) ?? []) missed.push({ type, data });
  const next = withEvent(client.getQueryData<Fleet | null>(FLEET_KEY), type, data);
  if (next !== undefined) client.setQueryData(FLEET_KEY, next);
  // The first status of a new fleet, and the machine's details, come with a full read; so do
  // the machine and dashboard URL a finished step may have changed, which events do not carry.
  if (type === 'status' || (type === 'log' && (next === undefined || (data as LogEntry).status !== 'running')))
    void client.invalidateQueries({ queryKey: FLEET_KEY });
}
