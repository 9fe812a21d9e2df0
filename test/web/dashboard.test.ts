import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import type { BrowserContext, Page } from 'playwright-core';
import { createServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSecrets } from '../../src/db/secrets.ts';
import { SECRET } from '../../src/domain/fleet-settings.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { buildDashboard, ensureChromium, launchBrowser, screenshotPath } from '../harness/browser.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';

/**
 * The dashboard in Debian's Chromium against the real app over HTTP (real PostgreSQL, real
 * workers on the local driver, the stand-in gateway): a person signs in, provisions with the form,
 * watches the timeline live, sees a failure in red, retries, opens the Control UI; a member sees
 * no action buttons. At a phone's width, 390 px.
 */
let t: TestApp;
let server: ServerType;
let origin: string;
let browser: { context: BrowserContext; close(): Promise<void> };
let webDir: string;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-web-e2e-'));
// Every request any dashboard page made, to check it never left its own origin.
const requested: string[] = [];

beforeAll(async () => {
  ensureChromium();
  webDir = await buildDashboard();
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  t = await createTestApp({
    workers: { concurrency: 2 },
    env: { FLEET_WEB_DIR: webDir, FLEET_GIT_BASE_URL: makeBareRepos(path.join(scratch, 'forge'), ['acme/app', 'acme/docs']) },
  });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      origin = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await t?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
  fs.rmSync(scratch, { recursive: true, force: true });
  if (webDir) fs.rmSync(webDir, { recursive: true, force: true });
});

async function openDashboard(): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  await page.goto(`${origin}/`);
  return page;
}

async function signIn(page: Page, who: { userId: string; orgId?: string; orgRole?: 'admin' | 'member' }) {
  await page.getByLabel('User id').fill(who.userId);
  await page.getByLabel('Organisation id (optional)').fill(who.orgId ?? '');
  if (who.orgRole) await page.getByLabel('Role in the organisation').selectOption(who.orgRole);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
}

const stepState = (page: Page, step: string) => page.getByTestId(`step-${step}`).getAttribute('data-state');

/** The error text a field's aria-describedby points at. */
async function describedError(page: Page, fieldId: string): Promise<string> {
  // The API's answer arrives after the click: wait for the error to be drawn.
  await page.locator(`#${fieldId}[aria-invalid="true"]`).waitFor();
  const ids = (await page.locator(`#${fieldId}`).getAttribute('aria-describedby')) ?? '';
  const errorId = ids.split(' ').find((id) => id.endsWith('-error'));
  expect(errorId, `${fieldId} has no error linked by aria-describedby`).toBeDefined();
  return page.locator(`#${errorId}`).innerText();
}

describe('the dashboard in a browser', () => {
  let page: Page;

  it('signs in with dev sign-in, its fields labelled and reached by Tab in order', async () => {
    page = await openDashboard();
    await page.getByRole('heading', { name: 'Sign in (dev)' }).waitFor();
    await page.screenshot({ path: screenshotPath('01-sign-in'), fullPage: true });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('dev-user');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('dev-org');
    await page.keyboard.type('org_webco');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('dev-role');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Sign in');

    await signIn(page, { userId: 'user_webadmin', orgId: 'org_webco', orgRole: 'admin' });
    expect(await page.getByTestId('who').innerText()).toBe('user_webadmin · org_webco (admin)');
    await page.getByRole('heading', { name: 'No fleet yet: provision one' }).waitFor();
  }, 60_000);

  it("shows the browser's check and the API's refusal as text next to the field, linked by aria-describedby", async () => {
    await page.getByLabel('Template').selectOption('solo-engineer');
    await page.getByLabel('Repositories').fill('acme/app\nnot a repo!');
    await page.getByRole('button', { name: 'Provision the fleet' }).click();
    expect(await describedError(page, 'repos')).toMatch(/^line 2: /);
    // The browser's check passes this; the API refuses a loopback Mission Control address.
    await page.getByLabel('Repositories').fill('acme/app\nacme/docs');
    await page.getByLabel('Connect Mission Control').check();
    await page.getByLabel('Mission Control URL').fill('http://127.0.0.1:9/health');
    await page.getByLabel('Mission Control token').fill('mc_token_123');
    await page.getByRole('button', { name: 'Provision the fleet' }).click();
    const apiError = await describedError(page, 'missionControl-url');
    expect(apiError).toMatch(/loopback|private|address/i);
    await page.screenshot({ path: screenshotPath('02-provision-form-error'), fullPage: true });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('missionControl-url');
    // Nothing was provisioned by the refused request.
    const res = await t.request('/api/fleet', { token: t.token({ userId: 'user_webadmin', orgId: 'org_webco', orgRole: 'admin' }) });
    expect(((await res.json()) as { fleet: unknown }).fleet).toBeNull();
  }, 60_000);

  it('provisions with the form and shows a forced failure live, in red, with its message and a Retry button', async () => {
    t.settings.faults.set('agent_config', 'throw');
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await page.getByLabel('Connect Mission Control').uncheck();
    await page.getByRole('button', { name: 'Provision the fleet' }).click();
    const failed = page.getByTestId('step-agent_config');
    await failed.and(page.locator('[data-state="error"]')).waitFor({ timeout: 30_000 });
    expect(await stepState(page, 'vm_create')).toBe('complete');
    expect(await stepState(page, 'workspace_bootstrap')).toBe('complete');
    expect(await stepState(page, 'gateway_start')).toBe('waiting');
    expect(await page.getByTestId('step-message-agent_config').innerText()).toBe('Injected failure in agent_config (FLEET_TEST_FAULTS).');
    expect(await page.getByTestId('step-message-agent_config').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(179, 38, 30)');
    expect(await page.getByTestId('status-badge').innerText()).toBe('error');
    expect(await page.getByTestId('status-meaning').innerText()).toBe('Provisioning failed — check the failing step below');
    expect(await page.getByTestId('repos').innerText()).toBe('acme/app\nacme/docs');
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.getByTestId('stream-state').innerText()).toBe('Live');
    await page.screenshot({ path: screenshotPath('03-failed-step'), fullPage: true });
  }, 60_000);

  it('retries from the failed step and watches the timeline reach active live, without a reload', async () => {
    t.settings.faults.clear();
    await failedStepRetry(page).click();
    await page
      .getByTestId('status-badge')
      .and(page.getByText('active', { exact: true }))
      .waitFor({ timeout: 30_000 });
    for (const step of ['vm_create', 'workspace_bootstrap', 'agent_config', 'gateway_start', 'connectivity_check', 'complete']) {
      expect(await stepState(page, step), step).toBe('complete');
    }
    expect(await page.getByTestId('status-meaning').innerText()).toBe('Fleet is live and agents are running');
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.getByTestId('template').innerText()).toBe('solo-engineer');
    expect(await page.getByTestId('machine').innerText()).toMatch(/^fleet-\S+ · zone none \(local\) · ip 127\.0\.0\.1$/);
    expect(await page.getByTestId('agents').innerText()).toMatch(/engineer/);
    // The failed run is collapsed below, and expands to its own entries.
    const earlier = page.getByTestId('earlier-runs');
    expect(await earlier.locator('details').count()).toBe(1);
    await earlier.locator('summary').click();
    expect(await earlier.locator('details').innerText()).toMatch(/ended with agent_config failed[\s\S]*Injected failure in agent_config/);
    // Usable at 390 px: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: screenshotPath('04-active'), fullPage: true });
  }, 60_000);

  it('opens the Control UI signed in: the gateway token in the fragment, never in the query', async () => {
    const [popup] = await Promise.all([
      browser.context.waitForEvent('page'),
      page.getByRole('button', { name: 'Open the Control UI' }).click(),
    ]);
    await popup.waitForURL(/#token=/);
    const opened = new URL(popup.url());
    const fleet = await t.database.db
      .selectFrom('fleets')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select(['fleets.id', 'fleets.dashboard_url'])
      .where('tenants.clerk_org_id', '=', 'org_webco')
      .executeTakeFirstOrThrow();
    const token = (await getSecrets(t.database.db, t.box, fleet.id))[SECRET.gatewayToken]!;
    expect(`${opened.origin}${opened.pathname}`).toBe(fleet.dashboard_url);
    expect(opened.search).toBe('');
    expect(new URLSearchParams(opened.hash.slice(1)).get('token')).toBe(token);
    await popup.close();
  }, 60_000);

  it("after sign-out, the next person signed in on the same page never sees the last one's fleet", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Not even for a moment (before the new session's snapshot arrives): watch every DOM change.
    await page.evaluate(() => {
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="status-badge"]')) Object.assign(window, { sawOldFleet: true });
      }).observe(document.body, { childList: true, subtree: true });
    });
    await signIn(page, { userId: 'user_websecond', orgId: 'org_websecond', orgRole: 'admin' });
    await page.getByRole('heading', { name: 'No fleet yet: provision one' }).waitFor();
    expect(await page.evaluate(() => (window as { sawOldFleet?: boolean }).sawOldFleet ?? false)).toBe(false);
  }, 60_000);

  it('shows an org member the fleet with no action buttons at all', async () => {
    t.settings.faults.set('agent_config', 'throw');
    // A second fleet of the same org fails: a member sees the failure but no Retry.
    const member = await openDashboard();
    await signIn(member, { userId: 'user_webmember', orgId: 'org_webco', orgRole: 'member' });
    await member.getByTestId('status-badge').waitFor();
    expect(await member.getByTestId('status-badge').innerText()).toBe('active');
    expect(await member.getByRole('button').allInnerTexts()).toEqual(['Sign out']);

    const admin = t.token({ userId: 'user_x', orgId: 'org_webfail', orgRole: 'admin' });
    await t.request('/api/fleet/provision', { method: 'POST', token: admin, json: { templateId: 'solo-engineer' } });
    const failing = await openDashboard();
    await signIn(failing, { userId: 'user_webmember2', orgId: 'org_webfail', orgRole: 'member' });
    await failing.getByTestId('step-agent_config').and(failing.locator('[data-state="error"]')).waitFor({ timeout: 30_000 });
    expect(await failing.getByRole('button').allInnerTexts()).toEqual(['Sign out']);
    await failing.screenshot({ path: screenshotPath('05-member-read-only'), fullPage: true });

    // No fleet yet: a member gets words, not a form.
    const none = await openDashboard();
    await signIn(none, { userId: 'user_webmember3', orgId: 'org_webempty', orgRole: 'member' });
    await none.getByText('No fleet yet. An organisation admin can provision one').waitFor();
    expect(await none.getByRole('button').allInnerTexts()).toEqual(['Sign out']);
    t.settings.faults.clear();
  }, 90_000);

  it('loaded nothing from outside its own origin', () => {
    const foreign = requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
    expect(requested.length).toBeGreaterThan(10);
    expect(foreign).toEqual([]);
    // Dev sign-in never fetches the Clerk chunk.
    expect(requested.filter((u) => /ClerkSignIn|clerk/i.test(u))).toEqual([]);
  });
});

describe('the dev bundle (npm run dev:web)', () => {
  it('loads nothing from outside its own origin, and signs in through its /api proxy', async () => {
    // The dev server as `npm run dev:web` starts it, forwarding /api to the test's server.
    process.env.FLEET_URL = origin;
    const dev = await createServer({
      configFile: path.resolve('web/vite.config.ts'),
      logLevel: 'warn',
      server: { port: 0, strictPort: false },
    });
    try {
      await dev.listen();
      const devOrigin = dev.resolvedUrls!.local[0]!.replace(/\/$/, '');
      const page = await browser.context.newPage();
      const seen: string[] = [];
      page.on('request', (r) => seen.push(r.url()));
      await page.goto(`${devOrigin}/`);
      await signIn(page, { userId: 'user_devbundle' });
      await page.getByRole('heading', { name: 'No fleet yet: provision one' }).waitFor();
      await page.close();
      expect(seen.length).toBeGreaterThan(10);
      expect(seen.filter((u) => !u.startsWith(`${devOrigin}/`) && !u.startsWith('data:'))).toEqual([]);
      expect(seen.filter((u) => /ClerkSignIn|@clerk|clerk/i.test(u))).toEqual([]);
    } finally {
      await dev.close();
      delete process.env.FLEET_URL;
    }
  }, 120_000);
});

const failedStepRetry = (page: Page) => page.getByTestId('step-agent_config').getByRole('button', { name: 'Retry from this step' });
