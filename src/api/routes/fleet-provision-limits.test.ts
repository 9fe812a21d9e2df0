import { describe, expect, it } from 'vitest';
import type { TestApp } from '../../../test/harness/app.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { waitForFleet } from '../../../test/harness/wait.ts';

/**
 * The plan's limits at the HTTP edge: a request asking for more than the tenant's plan allows is a
 * 413 naming the limit, and a tenant that started too many runs in the last hour gets a 429 with
 * Retry-After. (Repo size is checked while cloning: test/workspace/clone-limits.test.ts.)
 */
const app = useStandinApp({
  workers: { concurrency: 1 },
  env: { FLEET_PLAN_LIMITS: 'free.repos=2,free.agents=3,free.provisionsPerHour=2' },
});
const provision = (t: TestApp, token: string, json: unknown = {}) => t.request('/api/fleet/provision', { method: 'POST', token, json });
type ErrorAnswer = { ok: false; error: { code: string; message: string; details?: { field?: string } } };

describe('plan limits on POST /api/fleet/provision', () => {
  it('413 for more repos than the plan allows, naming the plan and the limit; nothing is left behind', async () => {
    const t = app();
    const token = t.token({ userId: 'user_limit_repos' });
    const res = await provision(t, token, { templateId: 'solo-engineer', repos: ['acme/a', 'acme/b', 'acme/c'] });
    expect(res.status).toBe(413);
    const body = (await res.json()) as ErrorAnswer;
    expect(body.error).toMatchObject({ code: 'payload_too_large', details: { field: 'repos' } });
    expect(body.error.message).toMatch(/3 repos.*free plan allows at most 2/);
    expect(await (await t.request('/api/fleet', { token })).json()).toEqual({ ok: true, fleet: null });
  });

  it('413 for a template with more agents than the plan allows', async () => {
    const t = app();
    const res = await provision(t, t.token({ userId: 'user_limit_agents' }), { templateId: 'standard-7-agent', repos: [] });
    expect(res.status).toBe(413);
    const body = (await res.json()) as ErrorAnswer;
    expect(body.error).toMatchObject({ code: 'payload_too_large', details: { field: 'templateId' } });
    expect(body.error.message).toMatch(/7 agents.*free plan allows at most 3/);
  });

  it('429 with Retry-After once the tenant started its runs of the hour', async () => {
    const t = app();
    const token = t.token({ userId: 'user_limit_rate' });
    t.settings.faults.set('vm_create', 'throw'); // each run fails at once, so the tenant may provision again
    try {
      for (let i = 0; i < 2; i++) {
        expect((await provision(t, token, { templateId: 'solo-engineer' })).status).toBe(202);
        expect((await waitForFleet(t, token, ['error'])).status).toBe('error');
      }
      const res = await provision(t, token, { templateId: 'solo-engineer' });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(3000);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      const body = (await res.json()) as ErrorAnswer;
      expect(body.error.code).toBe('rate_limited');
      expect(body.error.message).toMatch(/2 runs in the last hour.*free plan allows 2/);
      // Retry is a run too.
      expect((await t.request('/api/fleet/retry', { method: 'POST', token })).status).toBe(429);
    } finally {
      t.settings.faults.clear();
    }
  });
});
