import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from '../harness/browser.ts';
import { type DashboardServer, startDashboardServer } from '../harness/dashboard-server.ts';

/**
 * Clerk mode, as far as it can be seen offline: the server says `clerk`, the page then loads the
 * Clerk chunk (its own file of the build, absent from the main bundle) and asks for Clerk's
 * browser SDK at the publishable key's Frontend API and nowhere else. A real Clerk sign-in needs
 * Clerk's servers: every request off the page's origin is stopped in the browser, never sent.
 */
let d: DashboardServer;
beforeAll(async () => {
  d = await startDashboardServer({ devSignIn: false });
}, 600_000);
afterAll(() => d?.close());

const assets = () => fs.readdirSync(path.join(d.webDir, 'assets'));

describe('the dashboard in Clerk mode', () => {
  it('builds Clerk into its own chunk, which the main bundle only names', () => {
    const clerkChunk = assets().find((f) => /^ClerkSignIn-.*\.js$/.test(f));
    expect(clerkChunk).toBeDefined();
    const main = assets().filter((f) => f.endsWith('.js') && f !== clerkChunk);
    expect(main).toHaveLength(1);
    const mainCode = fs.readFileSync(path.join(d.webDir, 'assets', main[0]!), 'utf8');
    const clerkCode = fs.readFileSync(path.join(d.webDir, 'assets', clerkChunk!), 'utf8');
    for (const clerkOnly of ['ClerkProvider', 'OrganizationSwitcher', '@clerk/react']) {
      expect(clerkCode, clerkOnly).toContain(clerkOnly);
      expect(mainCode, clerkOnly).not.toContain(clerkOnly);
    }
    expect(mainCode).toContain(clerkChunk);
    // Not preloaded by the page either.
    expect(fs.readFileSync(path.join(d.webDir, 'index.html'), 'utf8')).not.toContain('ClerkSignIn');
  });

  it("loads the Clerk chunk and reaches for Clerk's SDK at the key's Frontend API only, saying so when it cannot", async () => {
    const page = await d.browser.context.newPage();
    const offOrigin: string[] = [];
    await page.route(
      (url) => url.origin !== d.origin,
      (route) => {
        offOrigin.push(route.request().url());
        return route.abort();
      },
    );
    const seen: string[] = [];
    page.on('request', (r) => seen.push(r.url()));
    await page.goto(`${d.origin}/`);
    await page.getByRole('alert').getByText("Clerk's sign-in could not be loaded").waitFor({ timeout: 30_000 });
    expect(seen.some((u) => /\/assets\/ClerkSignIn-[^/]+\.js$/.test(u))).toBe(true);
    expect(offOrigin.length).toBeGreaterThan(0);
    expect(
      offOrigin.every((u) => new URL(u).origin === 'https://clerk.agent-fleet.localhost'),
      offOrigin.join('\n'),
    ).toBe(true);
    await page.screenshot({ path: screenshotPath('clerk-01-unreachable'), fullPage: true });
    await page.close();
  }, 60_000);
});
