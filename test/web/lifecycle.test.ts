import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from '../harness/browser.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import {
  buttonTexts,
  type DashboardServer,
  scrollWidth,
  signIn,
  startDashboardServer,
  tabOrder,
  unlabelledControls,
} from '../harness/dashboard-server.ts';
import { type GitHttpServer, startGitHttpServer } from '../workspace/http-git-server.ts';

/**
 * The lifecycle buttons in Debian's Chromium against the real app: the buttons follow the status
 * live from the event stream, the running step shows its latest progress, cancel, suspend, resume
 * and a deprovision that asks for the tenant's id typed; an API refusal shows the API's message.
 */
let d: DashboardServer;
let forge: GitHttpServer;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-web-lifecycle-'));

beforeAll(async () => {
  // A forge that never answers: the clone in workspace_bootstrap stays under way until cancelled.
  fs.mkdirSync(path.join(scratch, 'forge'));
  forge = await startGitHttpServer(path.join(scratch, 'forge'), 'unused-token');
  forge.mode = 'hang';
  d = await startDashboardServer({
    workers: { concurrency: 2 },
    env: { FLEET_GIT_BASE_URL: makeBareRepos(path.join(scratch, 'repos'), ['acme/app']) },
  });
  // Config allows only https:// or file:// forges; the workers read the setting at each step, so a test may point them here.
  d.t.settings.gitBaseUrl = `${forge.baseUrl.replace(/\/$/, '')}/`;
}, 600_000);

afterAll(async () => {
  await d?.close();
  await forge?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const stepStates = (page: Page) => page.locator('.timeline > li').evaluateAll((els) => els.map((el) => el.getAttribute('data-state')));
const badge = (page: Page, status: string) => page.getByTestId('status-badge').and(page.getByText(status, { exact: true }));

describe('lifecycle actions in the dashboard', () => {
  let page: Page;

  it('shows the running step animated with its latest progress, and Cancel (only) while provisioning', async () => {
    page = await d.open();
    await signIn(page, { userId: 'user_lifecycle' });
    await page.getByLabel('Template').selectOption('solo-engineer');
    await page.getByLabel('Repositories').fill('acme/app');
    await page.getByRole('button', { name: 'Provision the fleet' }).click();
    const running = page.getByTestId('step-workspace_bootstrap').and(page.locator('[data-state="running"]'));
    await running.waitFor({ timeout: 30_000 });
    const message = page.getByTestId('step-message-workspace_bootstrap');
    // Polled, so a failure names the message the page did show. The line is written just after the
    // commit that starts the step, so it arrives while the read that commit asked for is under way
    // (test/web/fleet-queries.test.ts: that read's answer no longer drops it).
    await expect.poll(() => message.innerText(), { timeout: 30_000, interval: 250 }).toBe('cloning repo 1 of 1 (acme/app for cantona)');
    const icon = running.locator('.step-icon');
    expect(await icon.evaluate((el) => getComputedStyle(el).animationName)).toBe('spin');
    expect(await buttonTexts(page)).toEqual(['Sign out', 'Cancel provisioning']);
    expect(await scrollWidth(page)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: screenshotPath('lifecycle-01-running'), fullPage: true });
  }, 90_000);

  it('cancels: the fleet ends in error live, and the buttons change to what error allows', async () => {
    await page.getByRole('button', { name: 'Cancel provisioning' }).click();
    await badge(page, 'error').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Deprovision…' }).waitFor();
    expect(await buttonTexts(page)).toEqual(['Sign out', 'Deprovision…', 'Retry from this step']);
  }, 60_000);

  it('deprovisions only once the user id is typed, then offers the form again', async () => {
    await page.getByRole('button', { name: 'Deprovision…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Deprovision this fleet?' });
    await dialog.waitFor();
    // The dialog takes focus; its input is labelled with what to type.
    const input = dialog.getByLabel('Type your user id, user_lifecycle, to confirm');
    expect(await input.evaluate((el) => el === document.activeElement)).toBe(true);
    const confirm = dialog.getByRole('button', { name: 'Deprovision' });
    expect(await confirm.isDisabled()).toBe(true);
    await input.fill('user_lifecycl');
    expect(await confirm.isDisabled()).toBe(true);
    // Escape closes it and nothing happens.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.getByTestId('status-badge').innerText()).toBe('error');

    await page.getByRole('button', { name: 'Deprovision…' }).click();
    await dialog.getByLabel('Type your user id, user_lifecycle, to confirm').fill('user_lifecycle');
    expect(await unlabelledControls(page)).toEqual([]);
    await page.screenshot({ path: screenshotPath('lifecycle-02-confirm-deprovision'), fullPage: true });
    await dialog.getByRole('button', { name: 'Deprovision' }).click();
    await page.getByRole('heading', { name: 'No fleet yet: provision one' }).waitFor({ timeout: 30_000 });
    const res = await d.t.request('/api/fleet', { token: d.t.token({ userId: 'user_lifecycle' }) });
    expect(((await res.json()) as { fleet: unknown }).fleet).toBeNull();
  }, 60_000);

  it('suspends and resumes an active fleet from its buttons, live', async () => {
    const admin = await d.open();
    await signIn(admin, { userId: 'user_lcadmin', orgId: 'org_lifecycle', orgRole: 'admin' });
    await admin.getByLabel('Template').selectOption('solo-engineer');
    await admin.getByLabel('Repositories').fill('');
    await admin.getByRole('button', { name: 'Provision the fleet' }).click();
    await badge(admin, 'active').waitFor({ timeout: 30_000 });
    await admin.getByRole('button', { name: 'Suspend' }).waitFor();
    expect(await buttonTexts(admin)).toEqual(['Sign out', 'Open the Control UI', 'Suspend', 'Deprovision…']);
    expect(await unlabelledControls(admin)).toEqual([]);
    // By keyboard alone, in the order they are drawn: Tab to Suspend, then Enter.
    expect(await tabOrder(admin, 'Sign out', 2)).toEqual(['Open the Control UI', 'Suspend']);
    await admin.keyboard.press('Enter');
    await badge(admin, 'suspended').waitFor({ timeout: 30_000 });
    await admin.getByRole('button', { name: 'Resume' }).waitFor();
    expect(await buttonTexts(admin)).toEqual(['Sign out', 'Resume', 'Deprovision…']);
    // The provisioning rows stay as they were; the suspend run is shown, open, after them.
    expect(await stepStates(admin)).toEqual(Array(6).fill('complete'));
    const since = admin.getByTestId('later-runs');
    expect(await since.locator('details[open]').count()).toBe(1);
    expect(await since.locator('details[open]').innerText()).toMatch(
      /gateway_stop done[\s\S]*machine_stop done[\s\S]*fleet_suspended done/,
    );
    expect(await admin.getByTestId('earlier-runs').count()).toBe(0);
    await admin.screenshot({ path: screenshotPath('lifecycle-03-suspended'), fullPage: true });
    await admin.getByRole('button', { name: 'Resume' }).click();
    await badge(admin, 'active').waitFor({ timeout: 30_000 });
    await readmeScreenshot(admin);

    // The platform suspends it: the tenant sees that live, and a Resume the API refuses says why, in the API's words.
    const listed = await d.t.request('/api/tenants?clerkOrgId=org_lifecycle', { platform: true });
    const [tenant] = ((await listed.json()) as { tenants: Array<{ tenantId: string }> }).tenants;
    const byPlatform = await d.t.request(`/api/tenants/${tenant!.tenantId}/suspend`, {
      method: 'POST',
      platform: true,
      json: { reason: 'billing' },
    });
    expect(byPlatform.status, await byPlatform.clone().text()).toBe(202);
    await badge(admin, 'suspended').waitFor({ timeout: 30_000 });
    const token = d.t.token({ userId: 'user_lcadmin', orgId: 'org_lifecycle', orgRole: 'admin' });
    const refusal = (await (await d.t.request('/api/fleet/resume', { method: 'POST', token })).json()) as { error: { message: string } };
    await admin.getByRole('button', { name: 'Resume' }).click();
    const shown = admin.getByTestId('action-error');
    await shown.waitFor();
    expect(await shown.innerText()).toBe(refusal.error.message);
    expect(await admin.locator('body').innerText()).not.toMatch(/something went wrong/i);
  }, 90_000);

  it('shows an org member of that fleet no action buttons at all', async () => {
    const member = await d.open();
    await signIn(member, { userId: 'user_lcmember', orgId: 'org_lifecycle', orgRole: 'member' });
    await member.getByTestId('status-badge').waitFor();
    expect(await buttonTexts(member)).toEqual(['Sign out']);
    expect(await member.getByRole('heading', { name: 'Actions' }).count()).toBe(0);
  }, 60_000);
});

/**
 * The README's picture of the dashboard, at a laptop's width: always under test-results/, and into
 * docs/ when FLEET_UPDATE_DOCS_SCREENSHOT=1 (so a normal run never changes a tracked file).
 */
async function readmeScreenshot(page: Page): Promise<void> {
  await page.setViewportSize({ width: 960, height: 760 });
  await page.getByTestId('stream-state').getByText('Live').waitFor();
  const shot = await page.screenshot({ path: screenshotPath('readme-dashboard') });
  if (process.env.FLEET_UPDATE_DOCS_SCREENSHOT === '1') fs.writeFileSync(path.resolve('docs/images/dashboard.png'), shot);
  await page.setViewportSize({ width: 390, height: 844 });
}
