import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { FLEET_RATE_LIMIT_PER_MINUTE: '5', FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE: '3' } });
});
afterAll(() => t.close());

type ErrorBody = { ok: false; error: { code: string; message: string; requestId: string } };

describe('rate limits per user and for the platform token', () => {
  it('answers 429 past FLEET_RATE_LIMIT_PER_MINUTE for one user, with Retry-After and the RateLimit headers', async () => {
    const token = t.token({ userId: 'user_eager' });
    for (let i = 1; i <= 5; i++) {
      const res = await t.request(i % 2 ? '/api/fleet' : '/api/templates', { token });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('5;w=60');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^limit=5, remaining=${5 - i}, reset=([1-9]|[1-5]\\d|60)$`));
    }
    const limited = await t.request('/api/fleet', { token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit')).toMatch(/^limit=5, remaining=0, reset=\d+$/);
    const body = (await limited.json()) as ErrorBody;
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/at most 5 requests a minute.*Retry in \d+ s/);
    expect(body.error.message).toContain(`Retry in ${limited.headers.get('retry-after')} s`);
    expect(body.error.requestId).toMatch(/\S/);
    // A POST is counted and refused the same way, before it does anything.
    const post = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
    expect(post.status).toBe(429);
    expect((await t.request('/api/fleet', { token: t.token({ userId: 'user_calm' }) })).status).toBe(200);
  });

  it('counts per user, whatever the session or organisation', async () => {
    for (let i = 0; i < 5; i++) {
      const token = t.token({ userId: 'user_many_tabs', orgId: `org_tab${i % 2}` });
      expect((await t.request('/api/fleet', { token })).status).toBe(200);
    }
    expect((await t.request('/api/fleet', { token: t.token({ userId: 'user_many_tabs' }) })).status).toBe(429);
  });

  it('limits the platform token to FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE', async () => {
    for (let i = 0; i < 3; i++) expect((await t.request('/api/tenants', { platform: true })).status).toBe(200);
    const limited = await t.request('/api/tenants', { platform: true });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('ratelimit-policy')).toBe('3;w=60');
    expect(((await limited.json()) as ErrorBody).error.message).toMatch(/platform token .* at most 3 requests a minute/);
  });

  it('does not count requests without valid credentials against anyone, nor limit health checks', async () => {
    for (let i = 0; i < 10; i++) expect((await t.request('/api/fleet', { token: 'not-a-jwt' })).status).toBe(401);
    for (let i = 0; i < 10; i++) {
      const res = await t.request('/healthz');
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
    }
    expect((await t.request('/api/fleet', { token: t.token({ userId: 'user_fresh' }) })).status).toBe(200);
  });
});
