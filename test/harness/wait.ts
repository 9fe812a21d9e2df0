import type { TestApp } from './app.ts';

export type FleetBody = {
  status: string;
  dashboardUrl: string | null;
  gcpResources: { vmName: string; zone: string | null; ip: string } | null;
  provisionLog: Array<{
    step: string;
    status: string;
    message: string | null;
    durationMs: number | null;
    createdAt: string;
    runId: string | null;
  }>;
  repos: string[];
  agentSpecs: Array<{ name: string; role: string }>;
};

/** Polls GET /api/fleet until the fleet reaches one of `statuses`; fails with the log on timeout. */
export async function waitForFleet(t: TestApp, token: string, statuses: string[], timeoutMs = 60_000): Promise<FleetBody> {
  const until = Date.now() + timeoutMs;
  let last: FleetBody | null = null;
  while (Date.now() < until) {
    const res = await t.request('/api/fleet', { token });
    last = ((await res.json()) as { fleet: FleetBody | null }).fleet;
    if (last && statuses.includes(last.status)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fleet did not reach ${statuses.join('|')} in ${timeoutMs} ms; last: ${JSON.stringify(last, null, 1)}`);
}

/** How many `complete` entries each step has. */
export function completeCounts(fleet: FleetBody): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of fleet.provisionLog) if (e.status === 'complete') counts[e.step] = (counts[e.step] ?? 0) + 1;
  return counts;
}

/** Polls `condition` until it holds; fails after `timeoutMs` naming what it waited for. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
