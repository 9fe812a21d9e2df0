import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { applyFleetEvent, FLEET_KEY, readFleet } from '../../web/src/fleet/fleet-queries.ts';
import type { Fleet, LogEntry } from '../../web/src/fleet/fleet-types.ts';

/**
 * The dashboard's cache of GET /api/fleet, kept by live events and by full reads. A full read
 * answers with what the server read when it started; events that arrived meanwhile must survive
 * its answer (one CI run showed a running step whose progress line never appeared).
 */
const entry = (step: LogEntry['step'], status: LogEntry['status'], message: string | null, at: string): LogEntry => ({
  step,
  status,
  message,
  durationMs: status === 'running' ? null : 12,
  createdAt: at,
  runId: 'run_1',
});

const fleet = (log: LogEntry[], status: Fleet['status'] = 'provisioning'): Fleet => ({
  status,
  templateId: 'solo-engineer',
  dashboardUrl: null,
  agentSpecs: [],
  repos: [],
  gcpResources: null,
  provisionLog: log,
  createdAt: '2026-12-02T06:00:00.000Z',
  updatedAt: '2026-12-02T06:00:00.000Z',
});

const vmDone = entry('vm_create', 'complete', 'machine ready', '2026-12-02T06:00:01.000Z');
const bootstrapStarted = entry('workspace_bootstrap', 'running', null, '2026-12-02T06:00:01.000Z');
const cloning = entry('workspace_bootstrap', 'running', 'cloning repo 1 of 1', '2026-12-02T06:00:01.010Z');

/** A full read under way whose answer the test gives when it likes, as a slow server would. */
function slowRead(client: QueryClient) {
  let answer!: (f: Fleet | null) => void;
  const done = client.fetchQuery({
    queryKey: FLEET_KEY,
    queryFn: () => readFleet(client, () => new Promise<Fleet | null>((resolve) => (answer = resolve))),
  });
  return { answer: (f: Fleet | null) => answer(f), done };
}

const cached = (client: QueryClient) => client.getQueryData<Fleet | null>(FLEET_KEY);

describe('the dashboard fleet cache', () => {
  it('keeps a progress line that arrived while a full read was under way, which the server read before it', async () => {
    const client = new QueryClient();
    client.setQueryData(FLEET_KEY, fleet([vmDone, bootstrapStarted]));
    const read = slowRead(client);
    await Promise.resolve();
    applyFleetEvent(client, 'log', cloning);
    read.answer(fleet([vmDone, bootstrapStarted]));
    await read.done;
    expect(cached(client)?.provisionLog).toEqual([vmDone, bootstrapStarted, cloning]);
  });

  it('does not repeat an entry the answer already has, and keeps the order of the rest', async () => {
    const client = new QueryClient();
    client.setQueryData(FLEET_KEY, fleet([vmDone]));
    const read = slowRead(client);
    await Promise.resolve();
    applyFleetEvent(client, 'log', bootstrapStarted);
    applyFleetEvent(client, 'log', cloning);
    read.answer(fleet([vmDone, bootstrapStarted]));
    await read.done;
    expect(cached(client)?.provisionLog).toEqual([vmDone, bootstrapStarted, cloning]);
  });

  it('keeps a status and a deprovision that arrived during the read', async () => {
    const client = new QueryClient();
    client.setQueryData(FLEET_KEY, fleet([vmDone]));
    const suspended = slowRead(client);
    await Promise.resolve();
    applyFleetEvent(client, 'status', { status: 'suspended' });
    suspended.answer(fleet([vmDone], 'active'));
    await suspended.done;
    expect(cached(client)?.status).toBe('suspended');

    const gone = slowRead(client);
    await Promise.resolve();
    applyFleetEvent(client, 'status', { status: null });
    gone.answer(fleet([vmDone], 'active'));
    await gone.done;
    expect(cached(client)).toBeNull();
  });

  it('replays nothing on a later read: events before it started are in its answer', async () => {
    const client = new QueryClient();
    client.setQueryData(FLEET_KEY, fleet([vmDone]));
    applyFleetEvent(client, 'log', cloning);
    const read = slowRead(client);
    await Promise.resolve();
    read.answer(fleet([vmDone, bootstrapStarted]));
    await read.done;
    expect(cached(client)?.provisionLog).toEqual([vmDone, bootstrapStarted]);
  });
});
