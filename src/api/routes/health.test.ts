import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('/healthz, /readyz and /metrics', () => {
  it('/healthz and /readyz answer without auth', async () => {
    expect(await (await t.request('/healthz')).json()).toEqual({ ok: true });
    expect(await (await t.request('/readyz')).json()).toEqual({ ok: true });
  });

  it('/metrics counts requests by route pattern and status, and fleets by status', async () => {
    await t.createTenant({ tenantId: 'metric_co', name: 'M', clerkOrgId: 'org_metric' });
    await t.request('/api/tenants/metric_co', { platform: true });
    await t.request('/api/fleet');
    const text = await (await t.request('/metrics')).text();
    expect(text).toMatch(/fleet_http_requests_total\{method="GET",route="\/api\/tenants\/:tenantId",status="200"\} 1/);
    expect(text).toMatch(/fleet_http_requests_total\{method="GET",route="\/api\/fleet",status="401"\} 1/);
    expect(text).toMatch(/fleet_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/tenants",status="201"\}/);
    expect(text).toMatch(/fleet_fleets\{status="pending"\} 1/);
    expect(text).toMatch(/fleet_fleets\{status="active"\} 0/);
  });
});

describe('/metrics with FLEET_METRICS_TOKEN', () => {
  const METRICS_TOKEN = 'fmt_scraper_token_0123456789abcdef';
  let guarded: TestApp;
  beforeAll(async () => {
    guarded = await createTestApp({ env: { FLEET_METRICS_TOKEN: METRICS_TOKEN } });
  });
  afterAll(() => guarded.close());

  it('answers 401 in the error envelope without the bearer token, or with another one', async () => {
    for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}x`, `Bearer ${METRICS_TOKEN.slice(0, -1)}`, METRICS_TOKEN]) {
      const res = await guarded.request('/metrics', { headers: authorization ? { authorization } : {} });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = (await res.json()) as { ok: boolean; error: { code: string; message: string } };
      expect(body).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
      expect(body.error.message).toContain('FLEET_METRICS_TOKEN');
    }
  });

  it('serves the metrics to the bearer of the token; health checks stay open', async () => {
    const res = await guarded.request('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/fleet_http_requests_total\{method="GET",route="\/metrics",status="401"\} 4/);
    expect((await guarded.request('/healthz')).status).toBe(200);
  });
});
