import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePlatformRouteSecurity, describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { orgTenantWithFleet } from '../../../test/harness/tenant-fixtures.ts';
import { waitForFleet } from '../../../test/harness/wait.ts';
import { createLogger } from '../../observability/logger.ts';
import { reconcileOnce } from '../../pipeline/reconciler.ts';

/**
 * GET /api/fleet/health and GET /api/tenants/{id}/health: the reconciler's last observation of the
 * machine, the gateway, Mission Control and each agent, read (not probed) by any member.
 */
const app = useStandinApp({ workers: { concurrency: 1 } });
const reconcile = () =>
  reconcileOnce({
    db: app().database.db,
    settings: app().settings,
    log: createLogger('silent'),
    config: { intervalSeconds: 30, unhealthyChecks: 3, deleteOrphans: false },
  });

type HealthBody = {
  ok: true;
  health: null | {
    fleetStatus: string;
    desiredState: string;
    checkedAt: string | null;
    machine: { state: string; lastCheckedAt: string; lastError: string | null } | null;
    gateway: { state: string; lastCheckedAt: string; lastError: string | null } | null;
    missionControl: { state: string } | null;
    agents: Array<Record<string, { state: string; lastError: string | null }> & { name: string }>;
  };
};

describe('GET /api/fleet/health', () => {
  it('shows what the reconciler saw, per agent, to any member; a failing check keeps its error and time', async () => {
    const t = app();
    const { admin, orgId } = await orgTenantWithFleet(t, 'health_own');
    const member = t.token({ userId: 'user_healthmember', orgId, orgRole: 'member' });
    expect((await t.request('/api/fleet/provision', { method: 'POST', token: admin, json: { templateId: 'solo-engineer' } })).status).toBe(
      202,
    );
    expect((await waitForFleet(t, admin, ['active', 'error'])).status).toBe('active');

    // Before the reconciler's first look: nothing observed yet, said as such.
    const before = (await (await t.request('/api/fleet/health', { token: member })).json()) as HealthBody;
    expect(before.health).toMatchObject({ fleetStatus: 'active', desiredState: 'running', checkedAt: null, machine: null, agents: [] });

    await reconcile();
    const res = await t.request('/api/fleet/health', { token: member });
    expect(res.status).toBe(200);
    const body = (await res.json()) as HealthBody;
    expect(body.health).toMatchObject({
      fleetStatus: 'active',
      checkedAt: expect.any(String),
      machine: { state: 'ok', lastError: null, lastCheckedAt: expect.any(String) },
      gateway: { state: 'ok', lastError: null },
      missionControl: { state: 'not_configured' },
      agents: [
        {
          name: 'cantona',
          gatewayUp: { state: 'ok' },
          configured: { state: 'ok' },
          discordConnected: { state: 'not_configured' },
          channelsReachable: { state: 'not_configured' },
        },
      ],
    });

    // An agent removed from the gateway config behind our back is reported as not configured.
    const slug = 'health_own';
    const configFile = path.join(t.dataDir, 'fleets', slug, 'openclaw/openclaw.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { agents: { entries: Record<string, unknown> } };
    delete config.agents.entries.cantona;
    fs.writeFileSync(configFile, JSON.stringify(config));
    await reconcile();
    const after = (await (await t.request('/api/fleet/health', { token: admin })).json()) as HealthBody;
    expect(after.health?.agents[0]?.configured).toMatchObject({
      state: 'failing',
      lastError: expect.stringContaining('missing from the gateway config'),
    });

    // The platform reads the same rollup by the tenant's id.
    const platform = (await (await t.request(`/api/tenants/${slug}/health`, { platform: true })).json()) as HealthBody;
    expect(platform.health?.agents[0]?.configured?.state).toBe('failing');
  });

  it('answers health: null for a session whose tenant has no fleet', async () => {
    const t = app();
    const body = (await (await t.request('/api/fleet/health', { token: t.token({ userId: 'user_health_nobody' }) })).json()) as HealthBody;
    expect(body).toEqual({ ok: true, health: null });
  });
});

describe('GET /api/tenants/{id}/health', () => {
  it('is a 404 for an unknown tenant', async () => {
    const res = await app().request('/api/tenants/no_such_tenant/health', { platform: true });
    expect(res.status).toBe(404);
  });
});

describeSessionRouteSecurity({ method: 'GET', path: '/api/fleet/health' }, app, {
  otherTenant: async (t) => {
    await orgTenantWithFleet(t, 'health_victim', 'active');
    const res = await t.request('/api/fleet/health?tenantId=health_victim', {
      token: t.token({ userId: 'user_hq', orgId: 'org_health_stranger', orgRole: 'admin' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, health: null });
  },
});

describePlatformRouteSecurity({ method: 'GET', path: '/api/tenants/health_any/health' }, app);
