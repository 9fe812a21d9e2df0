import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useStandinApp } from '../../test/harness/standin-app.ts';
import { DASHBOARD_CSP } from './web-dashboard.ts';

/** The built dashboard served at `/` by the API process, with the single-page app's fallback. */
const built = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-web-'));
fs.mkdirSync(path.join(built, 'assets'));
fs.writeFileSync(
  path.join(built, 'index.html'),
  '<!doctype html><title>Agent Fleet</title><script type="module" src="/assets/app-abc123.js"></script>',
);
fs.writeFileSync(path.join(built, 'assets', 'app-abc123.js'), 'console.log("dashboard")');
fs.writeFileSync(path.join(os.tmpdir(), 'fleet-web-outside.txt'), 'outside');

const app = useStandinApp({ env: { FLEET_WEB_DIR: built } });
const unbuilt = useStandinApp({ env: { FLEET_WEB_DIR: path.join(built, 'not-there') } });
// Clerk mode: the page loads Clerk's browser SDK from the key's own Frontend API, and no other host.
const clerkMode = useStandinApp({ env: { FLEET_WEB_DIR: built }, devSignIn: false });

describe('the dashboard at /', () => {
  it("serves index.html at / with a CSP that allows only the page's own origin", async () => {
    const res = await app().request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).not.toMatch(/https?:|\*|unsafe/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toContain('<title>Agent Fleet</title>');
  });

  it("in Clerk mode adds the publishable key's Frontend API host (and Clerk's own hosts) to the CSP, nothing else", async () => {
    const csp = (await clerkMode().request('/')).headers.get('content-security-policy') ?? '';
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['script-src']).toEqual(["'self'", 'https://clerk.agent-fleet.localhost', 'https://challenges.cloudflare.com']);
    expect(directives['connect-src']).toEqual(["'self'", 'https://clerk.agent-fleet.localhost']);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(
      csp
        .match(/https:\/\/[^\s;]+/g)
        ?.every((h) => ['https://clerk.agent-fleet.localhost', 'https://img.clerk.com', 'https://challenges.cloudflare.com'].includes(h)),
    ).toBe(true);
  });

  it("answers the app's own paths with index.html, so a reload keeps the page", async () => {
    const res = await app().request('/fleet/timeline');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Agent Fleet</title>');
  });

  it('serves hashed assets with their type, cached for good', async () => {
    const res = await app().request('/assets/app-abc123.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await res.text()).toBe('console.log("dashboard")');
  });

  it("leaves unknown API paths and missing files to the API's 404 envelope", async () => {
    for (const p of ['/api/nope', '/api', '/assets/missing.js']) {
      const res = await app().request(p);
      expect(res.status, p).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, p).toBe('not_found');
    }
  });

  it('never serves a file outside the build directory', async () => {
    for (const p of ['/../fleet-web-outside.txt', '/%2e%2e/fleet-web-outside.txt', '/assets/%2e%2e/%2e%2e/fleet-web-outside.txt']) {
      const res = await app().request(p);
      expect(await res.text(), p).not.toBe('outside');
    }
  });

  it('says how to build it when it is not built, and the API still answers', async () => {
    const res = await unbuilt().request('/');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found', message: expect.stringMatching(/npm run build:web/) } });
    expect((await unbuilt().request('/healthz')).status).toBe(200);
  });
});
