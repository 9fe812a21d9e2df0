import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import type { TestApp } from './app.ts';
import { type FleetBody, waitForFleet } from './wait.ts';

/** Helpers for the lifecycle tests: a fleet made active, and what is left of it on this host. */

export async function provisionToActive(t: TestApp, token: string, timeoutMs = 60_000): Promise<FleetBody> {
  const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
  expect(res.status).toBe(202);
  const fleet = await waitForFleet(t, token, ['active', 'error'], timeoutMs);
  expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
  return fleet;
}

export const gatewayPortOf = (fleet: FleetBody): number => Number(new URL(fleet.dashboardUrl!).port);

/** True when something accepts connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The local machine directory of a tenant, and whether it (or its service records) still exist. */
export function localMachine(t: TestApp, slug: string) {
  const root = path.join(t.dataDir, 'fleets', slug);
  const records = path.join(t.dataDir, 'fleets', '.services', slug);
  return { root, records, exists: () => fs.existsSync(root), recordsExist: () => fs.existsSync(records) };
}

export async function slugOfUser(t: TestApp, clerk: { userId?: string; orgId?: string }): Promise<string> {
  let q = t.database.db.selectFrom('tenants').select('slug');
  q = clerk.orgId ? q.where('clerk_org_id', '=', clerk.orgId) : q.where('clerk_user_id', '=', clerk.userId!);
  return (await q.executeTakeFirstOrThrow()).slug;
}

/** Waits for GET /api/fleet to answer `fleet: null`. */
export async function waitForNoFleet(t: TestApp, token: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    const body = (await (await t.request('/api/fleet', { token })).json()) as { fleet: FleetBody | null };
    if (body.fleet === null) return;
    last = body.fleet;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fleet not removed in ${timeoutMs} ms; last: ${JSON.stringify(last, null, 1)}`);
}
