import { describe, expect, it } from 'vitest';
import { useStandinApp } from '../../../test/harness/standin-app.ts';

/** Dev sign-in's token endpoint, and that it exists exactly when dev sign-in does. */
const dev = useStandinApp({});
const clerk = useStandinApp({ devSignIn: false });

const signIn = (json: unknown, headers: Record<string, string> = {}) =>
  dev().request('/api/dev/session', { method: 'POST', json, headers });

describe('POST /api/dev/session (dev sign-in)', () => {
  it('mints a session token the API accepts, acting for the named organisation and role', async () => {
    const res = await signIn({ userId: 'user_dev', orgId: 'org_devco', orgRole: 'member' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { token, expiresAt } = (await res.json()) as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(50 * 60_000);
    // A member may read but not provision: the role in the token is the one asked for.
    expect((await dev().request('/api/fleet', { token })).status).toBe(200);
    const provision = await dev().request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
    expect(provision.status).toBe(403);
  });

  it('400 naming the field for an id that is not a Clerk id, and for a role without an organisation', async () => {
    const bad = await signIn({ userId: 'alice' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { field: string } } }).error.details.field).toBe('userId');
    const role = await signIn({ userId: 'user_x', orgRole: 'admin' });
    expect(role.status).toBe(400);
    expect(((await role.json()) as { error: { message: string } }).error.message).toBe('orgRole: give orgId too, or leave both out');
    expect((await signIn({ userId: 'user_x', orgId: 'org_x', orgRole: 'owner' })).status).toBe(400);
  });

  it('403 for a request addressed to a name that is not loopback (DNS rebinding)', async () => {
    const res = await signIn({ userId: 'user_dev' }, { host: 'attacker.example:3000' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/loopback host names only/);
  });

  it('GET /api/sign-in-options says dev', async () => {
    expect(await (await dev().request('/api/sign-in-options')).json()).toEqual({ ok: true, mode: 'dev', clerkPublishableKey: null });
  });
});

describe('with Clerk configured', () => {
  it('POST /api/dev/session does not exist (404), and sign-in options say clerk', async () => {
    const res = await clerk().request('/api/dev/session', { method: 'POST', json: { userId: 'user_dev' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const options = (await (await clerk().request('/api/sign-in-options')).json()) as { mode: string; clerkPublishableKey: string };
    expect(options.mode).toBe('clerk');
    expect(options.clerkPublishableKey).toMatch(/^pk_live_/);
  });
});
