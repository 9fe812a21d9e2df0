import fs from 'node:fs';
import { type ServerType, serve } from '@hono/node-server';
import type { BrowserContext, Page } from 'playwright-core';
import { createTestApp, type TestAppOptions, type TestApp } from './app.ts';
import { buildDashboard, ensureChromium, launchBrowser } from './browser.ts';
import { STANDIN_GATEWAY } from './standin-app.ts';

/** The built dashboard served by a real app over HTTP on loopback, and a browser to look at it. */
export interface DashboardServer {
  t: TestApp;
  origin: string;
  /** The dashboard's build, as the app serves it. */
  webDir: string;
  browser: { context: BrowserContext; close(): Promise<void> };
  /** Every URL any page of this browser requested. */
  requested: string[];
  open(path?: string): Promise<Page>;
  close(): Promise<void>;
}

export async function startDashboardServer(opts: TestAppOptions): Promise<DashboardServer> {
  ensureChromium();
  const webDir = await buildDashboard();
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  const t = await createTestApp({ ...opts, env: { ...opts.env, FLEET_WEB_DIR: webDir } });
  let server: ServerType | undefined;
  const origin = await new Promise<string>((resolve) => {
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(`http://127.0.0.1:${info.port}`));
  });
  const browser = await launchBrowser();
  const requested: string[] = [];
  return {
    t,
    origin,
    webDir,
    browser,
    requested,
    open: async (path = '/') => {
      const page = await browser.context.newPage();
      page.on('request', (r) => requested.push(r.url()));
      await page.goto(`${origin}${path}`);
      return page;
    },
    close: async () => {
      await browser.close();
      (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await t.close();
      delete process.env.FLEET_GATEWAY_COMMAND;
      fs.rmSync(webDir, { recursive: true, force: true });
    },
  };
}

/** Dev sign-in through the page's form. */
export async function signIn(page: Page, who: { userId: string; orgId?: string; orgRole?: 'admin' | 'member' }): Promise<void> {
  await page.getByLabel('User id').fill(who.userId);
  await page.getByLabel('Organisation id (optional)').fill(who.orgId ?? '');
  if (who.orgRole) await page.getByLabel('Role in the organisation').selectOption(who.orgRole);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
}

/** The visible buttons' texts, in page order. */
export const buttonTexts = (page: Page): Promise<string[]> => page.getByRole('button').allInnerTexts();

/** Nothing on the page is wider than the viewport (no sideways scrolling). */
export const scrollWidth = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth);

/** Form controls a screen reader would announce without a name: each must have a label. */
export const unlabelledControls = (page: Page): Promise<string[]> =>
  page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
        const labelled = (el as HTMLInputElement).labels?.length;
        const text = el.tagName === 'BUTTON' && el.textContent?.trim();
        return !named && !labelled && !text;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );

/** The texts of the elements Tab reaches from `startText`'s button on, `count` presses. */
export async function tabOrder(page: Page, startText: string, count: number): Promise<string[]> {
  await page.getByRole('button', { name: startText, exact: true }).focus();
  const reached: string[] = [];
  for (let i = 0; i < count; i++) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
  }
  return reached;
}
