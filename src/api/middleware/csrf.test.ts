import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';

const DASHBOARD = 'https://dash.example.com';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ authorizedParties: [DASHBOARD, 'http://localhost:3000'] });
});
afterAll(() => t.close());

/** What a browser sends with Clerk's cookies: the session token and the client's last sign-in time. */
function cookieFor(userId: string, orgId?: string): string {
  const token = t.token({ userId, orgId, orgRole: 'admin', azp: DASHBOARD });
  const { iat } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number };
  return `__session=${token}; __client_uat=${iat}`;
}

const runsOf = async (): Promise<number> =>
  Number(
    (
      await t.database.db
        .selectFrom('provision_runs')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst()
    )?.n ?? 0,
  );

describe('CSRF: cookie sessions on state-changing routes', () => {
  it('refuses a cross-site POST carrying only cookies (empty body, or text/plain) with 403, and starts nothing', async () => {
    const cookie = cookieFor('user_victim', 'org_victim');
    // The cookie session works: a read from anywhere is fine (a GET changes nothing).
    expect((await t.request('/api/fleet', { headers: { cookie, origin: 'https://evil.example' } })).status).toBe(200);
    const attempts: Array<Record<string, string>> = [
      { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { cookie, origin: 'https://evil.example', 'content-type': 'text/plain', 'content-length': '2' },
      { cookie, origin: 'null' },
      { cookie }, // no Origin, no Sec-Fetch-Site: not provably ours
      { cookie, 'sec-fetch-site': 'same-site' }, // a sibling subdomain is another site's code
    ];
    for (const headers of attempts) {
      for (const path of ['/api/fleet/provision', '/api/fleet/retry']) {
        const body = headers['content-type'] === 'text/plain' ? '{}' : undefined;
        const res = await t.request(path, { method: 'POST', headers, body });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        const answer = (await res.json()) as { ok: boolean; error: { code: string; message: string } };
        expect(answer).toMatchObject({ ok: false, error: { code: 'forbidden' } });
        expect(answer.error.message).toMatch(/cross-site .*Authorization: Bearer/);
      }
    }
    expect(await runsOf()).toBe(0);
    expect(await (await t.request('/api/fleet', { headers: { cookie } })).json()).toEqual({ ok: true, fleet: null });
  });

  it("accepts the server's own origin, an authorized party, Sec-Fetch-Site: same-origin, and any Bearer request", async () => {
    const before = await runsOf();
    const ok = async (headers: Record<string, string>) => {
      const res = await t.request('/api/fleet/provision', { method: 'POST', headers, json: { templateId: 'solo-engineer' } });
      expect(res.status, JSON.stringify(headers)).toBe(202);
    };
    await ok({ cookie: cookieFor('user_own', 'org_own'), origin: 'http://localhost' });
    await ok({ cookie: cookieFor('user_dash', 'org_dash'), origin: DASHBOARD });
    await ok({ cookie: cookieFor('user_same', 'org_same'), 'sec-fetch-site': 'same-origin' });
    const bearer = t.token({ userId: 'user_cli', orgId: 'org_cli', orgRole: 'admin' });
    await ok({ authorization: `Bearer ${bearer}`, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(await runsOf()).toBe(before + 4);
  });

  it('leaves requests without a session cookie to authentication (401)', async () => {
    const res = await t.request('/api/fleet/provision', { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(401);
  });
});
