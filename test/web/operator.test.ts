import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_TOKEN } from '../harness/app.ts';
import { screenshotPath } from '../harness/browser.ts';
import { type DashboardServer, scrollWidth, startDashboardServer, unlabelledControls } from '../harness/dashboard-server.ts';

/**
 * The operator view (/ops) in Debian's Chromium against the real app: the platform token asked
 * once and kept in session storage only, the tenants table with its filters and pages, one
 * tenant's fleet and timeline, and the platform's suspend (with a reason), resume and deprovision.
 */
let d: DashboardServer;
const PLANS = ['free', 'pro', 'team'];
const TEMPLATES = ['standard-7-agent', 'solo-engineer'];

type Listed = { tenants: Array<{ tenantId: string }> };
const listed = async (query: string) =>
  ((await (await d.t.request(`/api/tenants?limit=200${query}`, { platform: true })).json()) as Listed).tenants.map((x) => x.tenantId);

beforeAll(async () => {
  d = await startDashboardServer({ workers: { concurrency: 2 } });
  for (let i = 0; i < 23; i++) {
    const res = await d.t.createTenant({
      tenantId: `ops_${String(i).padStart(2, '0')}`,
      name: `Ops tenant ${i}`,
      plan: PLANS[i % 3],
      clerkOrgId: `org_ops${i}`,
      templateId: TEMPLATES[i % 2],
    });
    expect(res.status).toBe(201);
  }
  await d.t.createTenant({ tenantId: 'ops_live', name: 'Live Co', plan: 'pro', clerkOrgId: 'org_opslive', templateId: 'solo-engineer' });
  const started = await d.t.request('/api/tenants/ops_live/provision', { method: 'POST', platform: true, json: {} });
  expect(started.status, await started.clone().text()).toBe(202);
  for (let i = 0; i < 300 && !(await listed('&status=active')).includes('ops_live'); i++) await new Promise((r) => setTimeout(r, 100));
}, 600_000);

afterAll(() => d?.close());

const rows = (page: Page) => page.getByTestId('tenants').locator('tbody tr');
const firstCells = (page: Page) => page.getByTestId('tenants').locator('tbody th button').allInnerTexts();

describe('the operator view', () => {
  let page: Page;

  it('asks for the platform token once, says why a wrong one is refused, and keeps it in session storage only', async () => {
    page = await d.open('/ops');
    await page.getByRole('heading', { name: 'Operator view' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('platform-token');
    await page.keyboard.type('fpt_wrong');
    await page.keyboard.press('Enter');
    const wrong = (await (await d.t.request('/api/tenants?limit=1', { platform: 'fpt_wrong' })).json()) as { error: { message: string } };
    await page.locator('#platform-token[aria-invalid="true"]').waitFor();
    expect(await page.locator('#platform-token-error').innerText()).toBe(wrong.error.message);
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);

    await page.getByLabel('Platform token').fill(PLATFORM_TOKEN);
    await page.getByRole('button', { name: 'Open the operator view' }).click();
    await page.getByTestId('tenants').waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([PLATFORM_TOKEN]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    // A reload keeps it (same tab); the token is not asked again.
    await page.reload();
    await page.getByTestId('tenants').waitFor();
    expect(await page.getByLabel('Platform token').count()).toBe(0);
  }, 60_000);

  it('lists tenants a page at a time, and filters by status, plan and template as the API does', async () => {
    const all = await listed('');
    expect(all).toHaveLength(24);
    expect(await firstCells(page)).toEqual(all.slice(0, 20));
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByTestId('page-number').getByText('Page 2').waitFor();
    await rows(page).first().getByText(all[20]!).waitFor();
    expect(await firstCells(page)).toEqual(all.slice(20));
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await rows(page).first().getByText(all[0]!).waitFor();

    await page.getByLabel('Plan').selectOption('team');
    await expect.poll(() => firstCells(page)).toEqual(await listed('&plan=team'));
    expect(await page.getByTestId('page-number').innerText()).toBe('Page 1');
    await page.getByLabel('Template id').fill('solo-engineer');
    await expect.poll(() => firstCells(page)).toEqual(await listed('&plan=team&templateId=solo-engineer'));
    await page.getByLabel('Plan').selectOption('');
    await page.getByLabel('Template id').fill('');
    await page.getByLabel('Status').selectOption('active');
    await expect.poll(() => firstCells(page)).toEqual(['ops_live']);
    expect(await scrollWidth(page)).toBeLessThanOrEqual(390);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.screenshot({ path: screenshotPath('ops-01-tenants'), fullPage: true });
  }, 60_000);

  it("opens a tenant's fleet and timeline, and suspends (with a reason), resumes and deprovisions it", async () => {
    await page.getByRole('button', { name: 'ops_live' }).click();
    const detail = page.getByTestId('tenant-detail');
    await detail.getByTestId('status-badge').getByText('active', { exact: true }).waitFor();
    // Focus moves to what opened, for a keyboard user.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tenant-heading');
    expect(await detail.getByTestId('step-complete').getAttribute('data-state')).toBe('complete');

    await detail.getByRole('button', { name: 'Suspend' }).click();
    await page.locator('#suspend-reason[aria-invalid="true"]').waitFor();
    expect(await page.locator('#suspend-reason-error').innerText()).toMatch(/^Say why/);
    await detail.getByLabel('Reason for suspending').fill('unpaid invoice');
    await detail.getByRole('button', { name: 'Suspend' }).click();
    await detail.getByTestId('status-badge').getByText('suspended', { exact: true }).waitFor({ timeout: 30_000 });
    const log = (await (await d.t.request('/api/tenants/ops_live', { platform: true })).json()) as {
      fleet: { provisionLog: Array<{ message: string | null }> };
    };
    expect(log.fleet.provisionLog.some((e) => e.message?.includes('unpaid invoice'))).toBe(true);
    expect(await scrollWidth(page)).toBeLessThanOrEqual(390);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.screenshot({ path: screenshotPath('ops-02-suspended'), fullPage: true });

    await detail.getByRole('button', { name: 'Resume' }).click();
    await detail.getByTestId('status-badge').getByText('active', { exact: true }).waitFor({ timeout: 30_000 });

    await detail.getByRole('button', { name: 'Deprovision…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Deprovision this fleet?' });
    await dialog.getByLabel('Type the tenant id, ops_live, to confirm').fill('ops_live');
    await dialog.getByRole('button', { name: 'Deprovision' }).click();
    await detail.getByText('This tenant is gone').waitFor({ timeout: 30_000 });
    expect((await d.t.request('/api/tenants/ops_live', { platform: true })).status).toBe(404);
  }, 90_000);

  it('forgets the token on request', async () => {
    await page.getByRole('button', { name: 'Forget the platform token' }).click();
    await page.getByLabel('Platform token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});
