import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintSessionToken } from '../../src/auth/dev-issuer.ts';
import { TerminalError } from '../../src/domain/step-errors.ts';
import type { StepDefinition } from '../../src/pipeline/step.ts';
import type { TestApp } from '../harness/app.ts';
import { SseReader } from '../harness/sse.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { changedTenants, markersOf, runsSettled, tenantStates } from './tenant-state.ts';

/**
 * Ten tenants, each called by its org admin, an org member, an outsider (admin of another org), its
 * admin's expired token and its admin's claims signed by another key, on every tenant route and
 * every platform route. Nothing any of them does reads or writes another tenant's data: no answer
 * (and no live event stream) carries another tenant's ids, slug, repos or log messages, and after
 * each caller's requests only the caller's own tenant may have changed in the database — and only
 * when the caller is its admin.
 */
const TENANTS = 10;
const tagOf = (i: number) => `mxtag${i}z`;
const indexOfTenant = (slug: string) => Number(/^matrix_t(\d)$/.exec(slug)?.[1]);

// Instant steps whose log messages name the tenant's tag; odd tenants fail, so retry has work.
const steps: StepDefinition[] = [
  {
    name: 'vm_create',
    timeoutMs: 10_000,
    run: async (ctx) => ({ message: `machine for ${tagOf(indexOfTenant(ctx.tenant.slug))} (${ctx.request.repos.join(' ')})`, output: {} }),
  },
  {
    name: 'workspace_bootstrap',
    timeoutMs: 10_000,
    run: async (ctx) => {
      const i = indexOfTenant(ctx.tenant.slug);
      if (i % 2 === 1) throw new TerminalError(`workspace of ${tagOf(i)} refused: its repos cannot be cloned`);
      return { message: `workspaces of ${tagOf(i)} ready`, output: {} };
    },
  },
  {
    name: 'complete',
    timeoutMs: 10_000,
    run: async (ctx) => ({
      message: `${tagOf(indexOfTenant(ctx.tenant.slug))} is live`,
      output: {},
      fleetUpdate: { dashboardUrl: `https://${tagOf(indexOfTenant(ctx.tenant.slug))}.dash.example/` },
    }),
  },
];

const app = useStandinApp({ workers: { concurrency: 2, steps } });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const CALLERS = ['admin', 'member', 'outsider', 'expired', 'otherKey'] as const;
type Caller = (typeof CALLERS)[number];

function tokenOf(t: TestApp, caller: Caller, i: number): string {
  const admin = { userId: `user_madmin${i}`, orgId: `org_matrix${i}`, orgRole: 'admin' };
  switch (caller) {
    case 'admin':
      return t.token(admin);
    case 'member':
      return t.token({ userId: `user_mmember${i}`, orgId: `org_matrix${i}`, orgRole: 'member' });
    case 'outsider':
      return t.token({ userId: `user_moutsider${i}`, orgId: `org_outside${i}`, orgRole: 'admin' });
    case 'expired':
      return t.token({ ...admin, ttlSeconds: -120 });
    case 'otherKey':
      return mintSessionToken(otherKey, admin);
  }
}

const tenantIds: string[] = [];
const markers: string[][] = [];

beforeAll(async () => {
  const t = app();
  const doc = (await (await t.request('/api/openapi.json')).json()) as {
    paths: Record<string, Record<string, { security?: Array<Record<string, string[]>>; requestBody?: unknown }>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      // Tenant and platform routes; the operations' own schemes (a metrics token) are not tenants' business.
      .filter(([, op]) => (op.security ?? []).some((sec) => 'clerkBearer' in sec || 'platformToken' in sec))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        platform: (op.security ?? []).some((sec) => 'platformToken' in sec),
        body: op.requestBody !== undefined,
      })),
  );
  for (let i = 0; i < TENANTS; i++) {
    const created = await t.createTenant({
      tenantId: `matrix_t${i}`,
      name: `Matrix ${tagOf(i)}`,
      plan: 'pro',
      clerkOrgId: `org_matrix${i}`,
    });
    expect(created.status).toBe(201);
    tenantIds.push(((await created.json()) as { tenant: { id: string } }).tenant.id);
    const res = await t.request('/api/fleet/provision', {
      method: 'POST',
      token: tokenOf(t, 'admin', i),
      json: {
        templateId: 'solo-engineer',
        repos: [`${tagOf(i)}-owner/private-repo`],
        missionControl: { url: `https://${tagOf(i)}.mc.example/`, token: `mc-secret-${i}` },
      },
    });
    expect(res.status).toBe(202);
  }
  await runsSettled(t.database.db);
  for (let i = 0; i < TENANTS; i++) markers.push(await markersOf(t.database.db, tenantIds[i]!, tagOf(i)));
});

/** Every request one caller makes for tenant `i`: the tenant routes, and every platform route on `i` and its neighbour. */
function requestsOf(
  i: number,
  caller: Caller,
): Array<{ method: string; path: string; json?: unknown; platformRoute: boolean; generic?: boolean }> {
  const neighbour = (i + 1) % TENANTS;
  const tenantRoutes = [
    { method: 'GET', path: '/api/fleet' },
    // The tenant comes from the session only: a tenant named in the query or body changes nothing.
    { method: 'GET', path: `/api/fleet?tenantId=matrix_t${neighbour}&tenant=${tenantIds[neighbour]}` },
    { method: 'GET', path: '/api/templates' },
    { method: 'POST', path: '/api/fleet/provision', json: { tenantId: `matrix_t${neighbour}` } },
    // Tenant i's tag only in its admin's request: an outsider's own fleet must not carry it.
    {
      method: 'POST',
      path: '/api/fleet/provision',
      json: { repos: [caller === 'admin' ? `${tagOf(i)}-owner/again` : `${caller}${i}-owner/again`] },
    },
    { method: 'POST', path: '/api/fleet/retry' },
  ].map((r) => ({ ...r, platformRoute: false }));
  const platformRoutes = [
    { method: 'GET', path: '/api/tenants' },
    {
      method: 'POST',
      path: '/api/tenants',
      json: { tenantId: `matrix_t${neighbour}`, name: 'Squat', clerkOrgId: `org_matrix${neighbour}` },
    },
    ...[i, neighbour].flatMap((j) => [
      { method: 'GET', path: `/api/tenants/matrix_t${j}` },
      { method: 'GET', path: `/api/tenants/${tenantIds[j]}` },
      { method: 'POST', path: `/api/tenants/matrix_t${j}/provision`, json: { repos: ['mallory/evil'] } },
      { method: 'POST', path: `/api/tenants/${tenantIds[j]}/retry` },
    ]),
  ].map((r) => ({ ...r, platformRoute: true }));
  const listed = [...tenantRoutes, ...platformRoutes];
  // Every other operation of the OpenAPI document (a route added later, a lifecycle verb): called
  // plainly, on tenant i and its neighbour for a platform route, so no route escapes the matrix.
  const generic = operations
    .filter((op) => !listed.some((r) => r.method === op.method && patternOf(op.path).test(r.path.split('?')[0]!)))
    .flatMap((op) =>
      (op.platform ? [`matrix_t${i}`, `matrix_t${neighbour}`] : ['']).map((key) => ({
        method: op.method,
        path: op.path.replace('{tenantId}', key),
        json: op.body ? {} : undefined,
        platformRoute: op.platform,
        generic: true,
      })),
    );
  return [...listed, ...generic];
}

/** The operations of the OpenAPI document that take a session or the platform token. */
let operations: Array<{ method: string; path: string; platform: boolean; body: boolean }> = [];
const patternOf = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);

/** The statuses each caller may get from a tenant route; every platform route answers a session 401. */
const ALLOWED: Record<Caller, { read: number[]; write: number[] }> = {
  admin: { read: [200], write: [202, 400, 409] },
  // Some reads are for admins only (an audit trail): a member may get 403 there too.
  member: { read: [200, 403], write: [400, 403] },
  outsider: { read: [200], write: [202, 400, 404, 409] },
  expired: { read: [401], write: [401] },
  otherKey: { read: [401], write: [401] },
};

/** Another tenant's markers found in `text` (the caller acting for tenant `own`, or for none). */
function foreignMarkersIn(text: string, own: number | undefined): string[] {
  return markers.flatMap((m, j) => (j === own ? [] : m.filter((marker) => text.includes(marker))));
}

async function readAnswer(res: Response): Promise<string> {
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return res.text();
  const reader = new SseReader(res);
  const events = await reader.until((e) => e.length > 0, 5000);
  await reader.close();
  return JSON.stringify(events);
}

describe('cross-tenant matrix: 10 tenants × 5 callers × every route', () => {
  it("no caller reads or writes another tenant's data", { timeout: 120_000 }, async () => {
    const t = app();
    // Live streams of every admin, open through the whole matrix: none may hear another tenant.
    const streams = await Promise.all(
      tenantIds.map(async (_, i) => new SseReader(await t.request('/api/fleet/events', { token: tokenOf(t, 'admin', i) }))),
    );
    const seen: string[] = [];
    for (let i = 0; i < TENANTS; i++) {
      for (const caller of CALLERS) {
        const token = tokenOf(t, caller, i);
        const before = await tenantStates(t.database.db);
        for (const r of [...requestsOf(i, caller), { method: 'GET', path: '/api/fleet/events', platformRoute: false }]) {
          const res = await t.request(r.path, { method: r.method, token, json: r.json });
          const text = await readAnswer(res);
          const where = `${caller} of tenant ${i}: ${r.method} ${r.path} → ${res.status}`;
          seen.push(where);
          const kind = r.method === 'GET' ? 'read' : 'write';
          if (r.platformRoute) expect(res.status, where).toBe(401);
          // A route the list does not know: its admin and an outsider may get any answer but a 5xx.
          else if ('generic' in r && (caller === 'admin' || caller === 'outsider')) expect(res.status, where).toBeLessThan(500);
          else expect(ALLOWED[caller][kind], `${where}: ${text.slice(0, 300)}`).toContain(res.status);
          const own = caller === 'admin' || caller === 'member' ? i : undefined;
          expect(foreignMarkersIn(text, own), where).toEqual([]);
          if (own === undefined && res.status === 200 && r.path.startsWith('/api/fleet')) expect(text, where).not.toContain(tagOf(i));
        }
        await runsSettled(t.database.db);
        const changed = changedTenants(before, await tenantStates(t.database.db), tenantIds);
        // Only an admin changes anything, and only its own tenant; the admin of a failed fleet
        // provisions it again, so its tenant must have changed (the check sees writes).
        const what = `tenants changed by the ${caller} of tenant ${i}`;
        if (caller !== 'admin') expect(changed, what).toEqual([]);
        else {
          expect(
            changed.filter((id) => id !== tenantIds[i]),
            what,
          ).toEqual([]);
          if (i % 2 === 1) expect(changed, what).toEqual([tenantIds[i]]);
        }
      }
    }
    // The admins of failed fleets provisioned again: each stream heard its own tenant, and only it.
    for (const [i, stream] of streams.entries()) {
      // Generous: under the full suite the 2-core machine is busy, and these five runs share the app's workers.
      if (i % 2 === 1) await stream.until((e) => e.some((ev) => ev.event !== 'snapshot' && ev.data.includes(tagOf(i))), 45_000);
      await stream.close();
      expect(foreignMarkersIn(JSON.stringify(stream.events), i), `admin stream of tenant ${i}`).toEqual([]);
    }
    expect(seen.length).toBeGreaterThan(TENANTS * CALLERS.length * 15);
    // Every operation that needs credentials was called (the document is the list of routes).
    for (const op of operations)
      expect(
        seen.some((w) => w.includes(` ${op.method} `) && patternOf(op.path).test(w.split(' ')[5]!.split('?')[0]!)),
        `${op.method} ${op.path}`,
      ).toBe(true);
  });

  it('the platform token reaches the tenant it names, and only it', { timeout: 60_000 }, async () => {
    const t = app();
    for (let i = 0; i < TENANTS; i++) {
      const before = await tenantStates(t.database.db);
      for (const key of [`matrix_t${i}`, tenantIds[i]!]) {
        const read = await t.request(`/api/tenants/${key}`, { platform: true });
        expect(read.status).toBe(200);
        const text = await read.text();
        expect(text).toContain(tagOf(i));
        expect(foreignMarkersIn(text, i)).toEqual([]);
      }
      // Whatever state the matrix left the fleet in: a retry it accepts changes this tenant only.
      const retry = await t.request(`/api/tenants/matrix_t${i}/retry`, { method: 'POST', platform: true });
      expect([202, 409]).toContain(retry.status);
      expect(foreignMarkersIn(await retry.text(), i)).toEqual([]);
      await runsSettled(t.database.db);
      const changed = changedTenants(before, await tenantStates(t.database.db), tenantIds);
      expect(changed).toEqual(retry.status === 202 ? [tenantIds[i]] : []);
    }
  });
});
