import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PLATFORM_TOKEN, type TestApp } from '../../test/harness/app.ts';
import { createLogger } from '../observability/logger.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('the app around every route', () => {
  it('answers unknown routes with the error envelope and a request id header', async () => {
    const res = await t.request('/api/nothing-here', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    expect(await res.json()).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'No route GET /api/nothing-here. See /api/reference.', requestId: 'trace-abc.123' },
    });
  });
});

describe('OpenAPI document and reference page', () => {
  it('covers every route with its error responses and security', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([p, m]) =>
      Object.entries(m).map(([method, op]) => ({ key: `${method.toUpperCase()} ${p}`, op })),
    );
    expect(ops.map((o) => o.key).sort()).toEqual(
      [
        'GET /api/fleet',
        'GET /api/fleet/events',
        'POST /api/fleet/provision',
        'POST /api/fleet/retry',
        'POST /api/tenants/{tenantId}/provision',
        'POST /api/tenants/{tenantId}/retry',
        'GET /api/templates',
        'GET /api/tenants',
        'GET /api/tenants/{tenantId}',
        'GET /healthz',
        'GET /metrics',
        'GET /readyz',
        'POST /api/tenants',
        'POST /api/fleet/suspend',
        'POST /api/fleet/resume',
        'POST /api/fleet/cancel',
        'DELETE /api/fleet',
        'GET /api/fleet/audit',
        'POST /api/tenants/{tenantId}/suspend',
        'POST /api/tenants/{tenantId}/resume',
        'POST /api/tenants/{tenantId}/cancel',
        'DELETE /api/tenants/{tenantId}',
        'GET /api/tenants/{tenantId}/audit',
        'POST /api/fleet/control-ui-token',
        'GET /api/sign-in-options',
        'POST /api/dev/session',
        'PATCH /api/fleet',
        'PATCH /api/tenants/{tenantId}/fleet',
        'POST /api/webhooks/clerk',
        'POST /api/fleet/reprovision',
        'POST /api/tenants/{tenantId}/reprovision',
        'GET /api/fleet/health',
        'GET /api/tenants/{tenantId}/health',
      ].sort(),
    );
    for (const { key, op } of ops) {
      if (key.includes('/api/')) {
        expect(op.security, key).toBeDefined();
        // A public route (sign-in's own) says so with `security: []` and has no 401 to give.
        if (op.security!.length > 0) expect(op.responses, key).toHaveProperty('401');
        expect(op.responses, key).toHaveProperty('500');
      }
    }
    expect(doc.paths['/api/tenants']!.post!.responses).toHaveProperty('409');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['clerkBearer', 'clerkCookie', 'metricsToken', 'platformToken']);
  });

  it('names every operation with a stable operationId, the names generated clients call', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as {
      servers: Array<{ url: string }>;
      paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>>;
    };
    const ids = Object.fromEntries(
      Object.entries(doc.paths).flatMap(([p, m]) =>
        Object.entries(m).map(([method, op]) => [`${method.toUpperCase()} ${p}`, op.operationId]),
      ),
    );
    // Renaming one breaks every generated client: change this list only on purpose.
    expect(ids).toStrictEqual({
      'GET /healthz': 'getLiveness',
      'GET /readyz': 'getReadiness',
      'GET /metrics': 'getMetrics',
      'GET /api/fleet': 'getFleet',
      'POST /api/fleet/provision': 'provisionFleet',
      'POST /api/fleet/retry': 'retryFleet',
      'GET /api/fleet/events': 'streamFleetEvents',
      'GET /api/templates': 'listTemplates',
      'POST /api/tenants': 'createTenant',
      'GET /api/tenants': 'listTenants',
      'GET /api/tenants/{tenantId}': 'getTenant',
      'POST /api/tenants/{tenantId}/provision': 'provisionTenant',
      'POST /api/tenants/{tenantId}/retry': 'retryTenant',
      'POST /api/fleet/suspend': 'suspendFleet',
      'POST /api/fleet/resume': 'resumeFleet',
      'POST /api/fleet/cancel': 'cancelFleet',
      'DELETE /api/fleet': 'deprovisionFleet',
      'GET /api/fleet/audit': 'getFleetAudit',
      'POST /api/tenants/{tenantId}/suspend': 'suspendTenant',
      'POST /api/tenants/{tenantId}/resume': 'resumeTenant',
      'POST /api/tenants/{tenantId}/cancel': 'cancelTenant',
      'DELETE /api/tenants/{tenantId}': 'deprovisionTenant',
      'PATCH /api/fleet': 'reconfigureFleet',
      'PATCH /api/tenants/{tenantId}/fleet': 'reconfigureTenant',
      'POST /api/webhooks/clerk': 'receiveClerkWebhook',
      'POST /api/fleet/reprovision': 'reprovisionFleet',
      'POST /api/tenants/{tenantId}/reprovision': 'reprovisionTenant',
      'GET /api/tenants/{tenantId}/audit': 'getTenantAudit',
      'POST /api/fleet/control-ui-token': 'createControlUiToken',
      'GET /api/sign-in-options': 'getSignInOptions',
      'POST /api/dev/session': 'createDevSession',
      'GET /api/fleet/health': 'getFleetHealth',
      'GET /api/tenants/{tenantId}/health': 'getTenantHealth',
    });
    expect(doc.servers).toStrictEqual([{ url: '/', description: 'The server that serves this document' }]);
    // Public probes say so explicitly, instead of leaving security undefined.
    expect(doc.paths['/healthz']!.get!.security).toStrictEqual([]);
    expect(doc.paths['/readyz']!.get!.security).toStrictEqual([]);
    expect(doc.paths['/metrics']!.get!.security).toStrictEqual([{}, { metricsToken: [] }]);
  });

  it('keeps the Fleet component non-null: only the answers that may have no fleet say null', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as {
      components: { schemas: Record<string, { type?: unknown; properties?: Record<string, unknown> }> };
    };
    const { Fleet, FleetResponse, ProvisionAccepted } = doc.components.schemas;
    // A nullable Fleet would type every accepted provisioning's `fleet` as possibly null in generated clients.
    expect(Fleet!.type).toBe('object');
    expect(ProvisionAccepted!.properties!.fleet).toStrictEqual({ $ref: '#/components/schemas/Fleet' });
    expect(FleetResponse!.properties!.fleet).toStrictEqual({ anyOf: [{ $ref: '#/components/schemas/Fleet' }, { type: 'null' }] });
  });

  it('serves a human-readable reference page listing the routes', async () => {
    const res = await t.request('/api/reference');
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<code>/api/fleet</code>');
    expect(html).toContain('X-Platform-Token');
    expect(html).not.toMatch(/<script/);
  });
});

describe('logging', () => {
  it('never writes credentials, whatever object is logged', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _e, cb) => {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger('info', sink);
    const token = t.token({ userId: 'user_secret' });
    log.info({ headers: { authorization: `Bearer ${token}`, cookie: `__session=${token}`, 'x-platform-token': PLATFORM_TOKEN } }, 'req');
    log.info({ discord: { bots: [{ agentId: 'cantona', token: 'bot-token-123' }] }, missionControl: { token: 'mc-secret' } }, 'settings');
    log.info({ token, password: 'pw', gitToken: 'ghp_x' }, 'flat');
    const all = lines.join('');
    for (const secret of [token, PLATFORM_TOKEN, 'bot-token-123', 'mc-secret', 'ghp_x']) expect(all).not.toContain(secret);
    expect(all).toContain('[redacted]');
  });
});
