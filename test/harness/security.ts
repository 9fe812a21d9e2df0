import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintSessionToken } from '../../src/auth/dev-issuer.ts';
import type { TestApp } from './app.ts';

/**
 * The common security cases, run on a route with one call, so no route goes without them. Tenant routes: no
 * credentials, malformed, foreign-key and expired tokens are 401 in the error envelope; the
 * route-specific "another tenant's data" and "not allowed" cases are passed in.
 */
export interface RouteUnderTest {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  path: string;
  json?: unknown;
}

const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

async function expect401(res: Response) {
  expect(res.status).toBe(401);
  const body = (await res.json()) as { ok: boolean; error: { code: string; requestId: string } };
  expect(body.ok).toBe(false);
  expect(body.error.code).toBe('unauthenticated');
  expect(body.error.requestId).toMatch(/\S/);
}

export function describeSessionRouteSecurity(
  route: RouteUnderTest,
  ctx: () => TestApp,
  extra: {
    /** A signed-in caller of another tenant must not see or touch this tenant's data. */
    otherTenant?: (t: TestApp) => Promise<void>;
    /** Signed in but not allowed (e.g. an org member who is not an admin): 403. */
    forbidden?: (t: TestApp) => Promise<void>;
  } = {},
) {
  describe(`security: ${route.method} ${route.path}`, () => {
    const send = (t: TestApp, token?: string) => t.request(route.path, { method: route.method, token, json: route.json });

    it('answers 401 without credentials', async () => {
      await expect401(await send(ctx()));
    });
    it('answers 401 for a malformed token', async () => {
      await expect401(await send(ctx(), 'not-a-jwt'));
    });
    it('answers 401 for a token signed with another key', async () => {
      await expect401(await send(ctx(), mintSessionToken(otherKey, { userId: 'user_mallory' })));
    });
    it('answers 401 for an expired token', async () => {
      await expect401(await send(ctx(), ctx().token({ userId: 'user_alice', ttlSeconds: -120 })));
    });
    it('answers 401 when the platform token is offered instead of a session', async () => {
      await expect401(await ctx().request(route.path, { method: route.method, platform: true, json: route.json }));
    });
    if (route.method !== 'GET') {
      it('answers 403 to a cross-site request carrying only the session cookie', async () => {
        const token = ctx().token({ userId: 'user_csrf_victim', orgId: 'org_csrf_victim', orgRole: 'admin' });
        const { iat } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number };
        const headers = { cookie: `__session=${token}; __client_uat=${iat}`, origin: 'https://evil.example' };
        const res = await ctx().request(route.path, { method: route.method, headers, json: route.json });
        expect(res.status).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      });
    }
    if (extra.otherTenant) it("does not reveal or change another tenant's data", () => extra.otherTenant!(ctx()));
    if (extra.forbidden) it('answers 403 to a caller who is signed in but not allowed', () => extra.forbidden!(ctx()));
  });
}

export function describePlatformRouteSecurity(route: RouteUnderTest, ctx: () => TestApp) {
  describe(`security: ${route.method} ${route.path}`, () => {
    it('answers 401 without X-Platform-Token', async () => {
      await expect401(await ctx().request(route.path, { method: route.method, json: route.json }));
    });
    it('answers 401 for a wrong X-Platform-Token', async () => {
      await expect401(
        await ctx().request(route.path, { method: route.method, json: route.json, platform: 'fpt_wrong_wrong_wrong_wrong_wrong' }),
      );
    });
    it('answers 401 to a Clerk session, even an org admin', async () => {
      const token = ctx().token({ userId: 'user_alice', orgId: 'org_acme', orgRole: 'admin' });
      await expect401(await ctx().request(route.path, { method: route.method, json: route.json, token }));
    });
  });
}
