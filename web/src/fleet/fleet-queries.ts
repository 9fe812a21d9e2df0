import { type QueryClient, useQuery } from '@tanstack/react-query';
import { callApi } from '../api.ts';
import { useSession } from '../session/session.ts';
import type { Fleet, LogEntry, Template } from './fleet-types.ts';
import { withEntry } from './timeline-model.ts';

export const FLEET_KEY = ['fleet'] as const;

/** GET /api/fleet, kept current by the event stream (useFleetEvents) rather than by polling. */
export function useFleet() {
  const session = useSession();
  return useQuery({
    queryKey: FLEET_KEY,
    queryFn: async () => (await callApi<{ fleet: Fleet | null }>(session, '/api/fleet')).fleet,
    staleTime: Number.POSITIVE_INFINITY,
  });
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

/** Applies one event of GET /api/fleet/events to the cached fleet. */
export function applyFleetEvent(client: QueryClient, type: string, data: unknown): void {
  if (type === 'snapshot') {
    client.setQueryData(FLEET_KEY, (data as { fleet: Fleet | null }).fleet);
    return;
  }
  const fleet = client.getQueryData<Fleet | null>(FLEET_KEY);
  if (type === 'status') {
    const { status } = data as { status: Fleet['status'] | null };
    // A deprovisioned fleet is gone (status null): the page shows "no fleet yet", never a fleet without a status.
    if (status === null) client.setQueryData(FLEET_KEY, null);
    else if (fleet) client.setQueryData(FLEET_KEY, { ...fleet, status });
    // The first status of a new fleet, and the machine's details, come with a full read.
    void client.invalidateQueries({ queryKey: FLEET_KEY });
    return;
  }
  if (type === 'log' && fleet) {
    const entry = data as LogEntry;
    client.setQueryData(FLEET_KEY, { ...fleet, provisionLog: withEntry(fleet.provisionLog, entry) });
    // A finished step may have changed the machine or the dashboard URL, which events do not carry.
    if (entry.status !== 'running') void client.invalidateQueries({ queryKey: FLEET_KEY });
  } else if (type === 'log') {
    void client.invalidateQueries({ queryKey: FLEET_KEY });
  }
}
