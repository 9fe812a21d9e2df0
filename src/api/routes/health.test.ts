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
