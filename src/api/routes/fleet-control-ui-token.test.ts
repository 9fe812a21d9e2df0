import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../test/harness/app.ts';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { waitForFleet } from '../../../test/harness/wait.ts';
import { getSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';

// Every log line of the app, at trace level: the token must appear in none of them.
const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});
const app = useStandinApp({ workers: { concurrency: 1 }, logSink });
let t: TestApp;
beforeAll(() => {
  t = app();
});

const post = (token: string) => t.request('/api/fleet/control-ui-token', { method: 'POST', token });

async function activeFleet(userId: string, org?: string) {
  const token = t.token({ userId, ...(org ? { orgId: org, orgRole: 'admin' } : {}) });
  expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(202);
  const fleet = await waitForFleet(t, token, ['active']);
  return { token, fleet };
}

describe('POST /api/fleet/control-ui-token', () => {
  it("gives an org admin the fleet's gateway token and the Control UI URL with it in the fragment, never cached", async () => {
    const { token, fleet } = await activeFleet('user_cui_admin', 'org_cui');
    const res = await post(token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { ok: true; dashboardUrl: string; token: string; openUrl: string };
    const row = await t.database.db
      .selectFrom('fleets')
      .select('id')
      .where('dashboard_url', '=', fleet.dashboardUrl)
      .executeTakeFirstOrThrow();
    const stored = (await getSecrets(t.database.db, t.box, row.id))[SECRET.gatewayToken];
    expect(body.token).toBe(stored);
    expect(body.dashboardUrl).toBe(fleet.dashboardUrl);
    expect(body.openUrl).toBe(`${fleet.dashboardUrl}#token=${encodeURIComponent(stored!)}`);
    expect(new URL(body.openUrl).search).toBe('');
    // Handed over: audited, and in no log line.
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['actor', 'detail'])
      .where('action', '=', 'control_ui_token')
      .execute();
    expect(audit.map((a) => a.actor)).toContain('user:user_cui_admin');
    expect(JSON.stringify(audit)).not.toContain(stored);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(stored);
  });

  it('gives the owner of a personal tenant the token', async () => {
    const { token } = await activeFleet('user_cui_solo');
    const res = await post(token);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { token: string }).token).toMatch(/\S{20,}/);
  });

  it('404 saying what to do when there is no fleet yet', async () => {
    const res = await post(t.token({ userId: 'user_cui_nobody' }));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'There is no fleet yet: provision one first, then open its Control UI.',
    );
  });

  it('409 while the fleet has no machine yet (pending: no gateway, no token)', async () => {
    expect((await t.createTenant({ tenantId: 'cui_pending', name: 'Pending', clerkOrgId: 'org_cuipending' })).status).toBe(201);
    const res = await post(t.token({ userId: 'user_p', orgId: 'org_cuipending', orgRole: 'admin' }));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/no Control UI yet \(it is 'pending'\)/);
  });
});

describeSessionRouteSecurity({ method: 'POST', path: '/api/fleet/control-ui-token' }, app, {
  otherTenant: async (t) => {
    const { token: victimToken } = await (async () => {
      const token = t.token({ userId: 'user_cui_victim', orgId: 'org_cuivictim', orgRole: 'admin' });
      await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
      await waitForFleet(t, token, ['active']);
      return { token };
    })();
    const victim = (await (await t.request('/api/fleet/control-ui-token', { method: 'POST', token: victimToken })).json()) as {
      token: string;
    };
    // A stranger with no fleet gets 404, never the victim's token, whatever the query says.
    const res = await t.request('/api/fleet/control-ui-token?tenantId=auto_cuivictim', {
      method: 'POST',
      token: t.token({ userId: 'user_cui_stranger', orgId: 'org_cuistranger', orgRole: 'admin' }),
    });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(victim.token);
  },
  forbidden: async (t) => {
    const admin = t.token({ userId: 'user_cui_a', orgId: 'org_cuimember', orgRole: 'admin' });
    await t.request('/api/fleet/provision', { method: 'POST', token: admin, json: { templateId: 'solo-engineer' } });
    await waitForFleet(t, admin, ['active']);
    const res = await t.request('/api/fleet/control-ui-token', {
      method: 'POST',
      token: t.token({ userId: 'user_cui_m', orgId: 'org_cuimember', orgRole: 'member' }),
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('forbidden');
    expect(body.error.message).toBe('Only organisation admins can open the Control UI; your role in cuimember is org:member.');
  },
});
