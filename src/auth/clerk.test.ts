import { createHmac } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/harness/app.ts';
import { mintSessionToken } from './dev-issuer.ts';
import { generateKeyPairSync } from 'node:crypto';

/**
 * Every way a session token can be wrong is a 401 with a short reason — and none of it, nor a
 * valid session, makes the server talk to anything outside this machine.
 */

const outbound: string[] = [];
const originalConnect = net.Socket.prototype.connect;
const originalFetch = globalThis.fetch;
const isLoopback = (host: string) => /^(127\.|::1$|localhost$|\[::1\]$)/.test(host);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ authorizedParties: ['http://localhost:3000'] });
  // Fail (and record) any connection leaving the machine while these tests run.
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0] as { host?: string; port?: number } | number | string;
    const host =
      typeof first === 'object' && first !== null ? (first.host ?? 'localhost') : typeof args[1] === 'string' ? args[1] : 'localhost';
    if (typeof first === 'object' && first !== null && 'path' in first) return originalConnect.apply(this, args as never);
    if (!isLoopback(host)) {
      outbound.push(host);
      throw new Error(`test forbids outbound connection to ${host}`);
    }
    return originalConnect.apply(this, args as never);
  } as typeof net.Socket.prototype.connect;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!isLoopback(url.hostname)) {
      outbound.push(url.hostname);
      throw new Error(`test forbids fetch to ${url.hostname}`);
    }
    return originalFetch(input, init);
  }) as typeof fetch;
});
afterAll(async () => {
  net.Socket.prototype.connect = originalConnect;
  globalThis.fetch = originalFetch;
  await t.close();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const parts = (token: string) => token.split('.') as [string, string, string];
const decode = (seg: string) => JSON.parse(Buffer.from(seg, 'base64url').toString()) as Record<string, unknown>;

async function reasonFor(init: { token?: string; headers?: Record<string, string> }) {
  const res = await t.request('/api/fleet', init);
  expect(res.status).toBe(401);
  const body = (await res.json()) as { ok: boolean; error: { code: string; message: string; details: { reason: string } } };
  expect(body.ok).toBe(false);
  expect(body.error.code).toBe('unauthenticated');
  // A short reason code, never the library's own explanation of which check failed.
  expect(body.error.details.reason).toMatch(/^[a-z-]+$/);
  expect(JSON.stringify(body)).not.toMatch(/kid|jwk|signature|public key|pem/i);
  return body.error.details.reason;
}

const good = () => t.token({ userId: 'user_alice', azp: 'http://localhost:3000' });

describe('Clerk session verification (real SDK, networkless)', () => {
  it('accepts a good v2 token as Bearer', async () => {
    const res = await t.request('/api/fleet', { token: good() });
    expect(res.status).toBe(200);
  });

  it('accepts the __session cookie with __client_uat', async () => {
    const cookie = `__session=${good()}; __client_uat=${Math.floor(Date.now() / 1000) - 60}`;
    expect((await t.request('/api/fleet', { headers: { cookie } })).status).toBe(200);
  });

  it('401: no credentials', async () => {
    expect(await reasonFor({})).toBe('missing-credentials');
  });
  it('401: malformed token', async () => {
    await reasonFor({ token: 'abc.def' });
    await reasonFor({ token: 'Zm9v' });
  });
  it('401: bad signature', async () => {
    const [h, p, s] = parts(good());
    const flipped = s.slice(0, -4) + (s.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await reasonFor({ token: `${h}.${p}.${flipped}` });
  });
  it('401: signed with another key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await reasonFor({ token: mintSessionToken(other, { userId: 'user_alice', azp: 'http://localhost:3000' }) });
  });
  it('401: alg none', async () => {
    const [, p] = parts(good());
    await reasonFor({ token: `${b64({ alg: 'none', typ: 'JWT' })}.${p}.` });
  });
  it('401: HS256 signed with the public key as the secret', async () => {
    const [, p] = parts(good());
    const h = b64({ alg: 'HS256', typ: 'JWT', kid: 'ins_dev' });
    const pub = (await import('node:crypto')).createPublicKey(t.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    const sig = createHmac('sha256', pub).update(`${h}.${p}`).digest('base64url');
    await reasonFor({ token: `${h}.${p}.${sig}` });
  });
  it('401: expired', async () => {
    expect(await reasonFor({ token: t.token({ userId: 'user_alice', azp: 'http://localhost:3000', ttlSeconds: -300 }) })).toBe(
      'token-expired',
    );
  });
  it('401: not yet valid (nbf in the future)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await reasonFor({ token: t.token({ userId: 'user_alice', azp: 'http://localhost:3000', claims: { nbf: now + 600, iat: now + 600 } }) });
  });
  it('401: wrong azp (not an authorised party)', async () => {
    await reasonFor({ token: t.token({ userId: 'user_alice', azp: 'https://evil.example' }) });
  });
  it('401: pending session (sts: "pending")', async () => {
    expect(await reasonFor({ token: t.token({ userId: 'user_alice', azp: 'http://localhost:3000', claims: { sts: 'pending' } }) })).toBe(
      'session-pending',
    );
  });
  it('401: payload edited after signing (another user, another org)', async () => {
    const [h, p, s] = parts(good());
    const claims = decode(p);
    await reasonFor({ token: `${h}.${b64({ ...claims, sub: 'user_admin' })}.${s}` });
    await reasonFor({ token: `${h}.${b64({ ...claims, o: { id: 'org_victim', rol: 'admin', slg: 'victim' } })}.${s}` });
    await reasonFor({ token: `${h}.${b64({ ...claims, exp: (claims.exp as number) + 86400 })}.${s}` });
  });
  it('401: a __session cookie without __client_uat (no handshake, no network)', async () => {
    await reasonFor({ headers: { cookie: `__session=${good()}` } });
  });
  it('401: a token after a valid one was cached is still checked on its own', async () => {
    const token = good();
    expect((await t.request('/api/fleet', { token })).status).toBe(200);
    expect((await t.request('/api/fleet', { token })).status).toBe(200);
    const [h, p, s] = parts(token);
    await reasonFor({ token: `${h}.${b64({ ...decode(p), sub: 'user_other' })}.${s}` });
  });

  // Found by test/fuzz/openapi-fuzz.test.ts: a signed token whose ids held a NUL reached PostgreSQL
  // (a 500 on the first provision). An id that is no Clerk id is refused, whoever signed it.
  it.each([
    ['a NUL in the user id', { sub: 'user_\u0000x' }],
    ['an emoji user id', { sub: '💥' }],
    ['a user id of 300 characters', { sub: `user_${'a'.repeat(300)}` }],
    ['a right-to-left override in the org id', { o: { id: 'org_\u202eevil', rol: 'admin', slg: 'x' } }],
    ['a NUL in the session id', { sid: 'sess_\u0000' }],
  ])('401 token-claims-invalid: %s', async (_what, claims) => {
    const token = t.token({ userId: 'user_alice', azp: 'http://localhost:3000', claims });
    expect(await reasonFor({ token })).toBe('token-claims-invalid');
    expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: {} })).status).toBe(401);
  });
  it('keeps a session whose org slug or role has odd text, without that text', async () => {
    const token = t.token({
      userId: 'user_slug',
      azp: 'http://localhost:3000',
      claims: { o: { id: 'org_slug', rol: 'admin\u0000', slg: 'a\u0000b\u202e' } },
    });
    const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: {} });
    // The role is unreadable, so the caller is no admin: refused as such, not a 500.
    expect(res.status).toBe(403);
    expect(JSON.stringify(await res.json())).not.toMatch(/\\u0000|\u202e/);
  });

  it('made no connection outside this machine in any of the cases above', () => {
    expect(outbound).toEqual([]);
  });
});
