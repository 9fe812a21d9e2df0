import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';

/** The guards every request passes before a route: size, media type, NUL bytes, methods, headers. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { FLEET_MAX_BODY_BYTES: '4096' } });
});
afterAll(() => t.close());

type ErrorBody = { ok: false; error: { code: string; message: string; details?: { field?: string } } };
const admin = () => t.token({ userId: 'user_guard', orgId: 'org_guard', orgRole: 'admin' });
const noFleet = async () => expect(await (await t.request('/api/fleet', { token: admin() })).json()).toEqual({ ok: true, fleet: null });

describe('request guards', () => {
  it('413 for a body over FLEET_MAX_BODY_BYTES, saying the limit, and nothing is created', async () => {
    const res = await t.request('/api/fleet/provision', { method: 'POST', token: admin(), json: { repos: [], pad: 'x'.repeat(5000) } });
    expect(res.status).toBe(413);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('4096 bytes') });
    await noFleet();
  });

  it('415 naming application/json for a body of another type: a text/plain post is not an empty request', async () => {
    const res = await t.request('/api/fleet/provision', {
      method: 'POST',
      token: admin(),
      headers: { 'content-type': 'text/plain' },
      body: '{"templateId":"solo-engineer"}',
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({
      code: 'unsupported_media_type',
      message: expect.stringContaining('application/json'),
    });
    await noFleet();
  });

  it('400, not 500, for a NUL byte in a JSON string, a key, or the query, naming where', async () => {
    const nulName = await t.createTenant({ tenantId: 'nul_co', name: 'Nul\u0000Co', clerkOrgId: 'org_nul' });
    expect(nulName.status).toBe(400);
    expect(((await nulName.json()) as ErrorBody).error).toMatchObject({ code: 'invalid_input', details: { field: 'name' } });
    const nulKey = await t.createTenant({ tenantId: 'nul_co', 'na\u0000me': 'x', clerkOrgId: 'org_nul' });
    expect(nulKey.status).toBe(400);
    const query = await t.request('/api/tenants?plan=free%00', { platform: true });
    expect(query.status).toBe(400);
    expect(((await query.json()) as ErrorBody).error.details?.field).toBe('(url)');
    expect((await t.request('/api/tenants/nul_co', { platform: true })).status).toBe(404);
  });

  it('405 with Allow for a known path and the wrong method; 404 stays for unknown paths', async () => {
    const res = await t.request('/api/tenants', { method: 'PUT', platform: true, json: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(((await res.json()) as ErrorBody).error).toMatchObject({
      code: 'method_not_allowed',
      message: 'PUT is not allowed on /api/tenants; allowed: GET, HEAD, POST.',
    });
    const param = await t.request('/api/tenants/acme', { method: 'PATCH', platform: true, json: {} });
    expect(param.status).toBe(405);
    expect(param.headers.get('allow')).toBe('DELETE, GET, HEAD');
    expect((await t.request('/api/nothing', { method: 'PUT' })).status).toBe(404);
  });

  it('sends security headers with every answer, errors included', async () => {
    for (const res of [await t.request('/healthz'), await t.request('/api/fleet'), await t.request('/api/reference')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
  });
});

describe('request guards at the default body limit', () => {
  let wide: TestApp;
  beforeAll(async () => {
    wide = await createTestApp();
  });
  afterAll(() => wide.close());
  const deep = (depth: number, inner = '') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
  const post = (body: string) =>
    wide.request('/api/fleet/provision', {
      method: 'POST',
      token: wide.token({ userId: 'user_deep', orgId: 'org_deep', orgRole: 'admin' }),
      headers: { 'content-type': 'application/json' },
      body,
    });

  // Found by test/fuzz/openapi-fuzz.test.ts: the NUL walk recursed once per level and overflowed the stack.
  it('400, not 500, for JSON nested 200,000 levels deep (400 KB, well under the limit)', async () => {
    const res = await post(`{"repos":${deep(200_000)}}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({ code: 'invalid_input', details: { field: 'repos.0' } });
  });

  it('finds a NUL byte at the bottom of deep nesting, and names the place without echoing 100,000 indexes', async () => {
    const res = await post(deep(100_000, '"\\u0000"'));
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.message).toMatch(/must not contain a NUL byte/);
    expect(body.error.message.length).toBeLessThan(400);
  });
});
