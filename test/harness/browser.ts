import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { build } from 'vite';

/** Debian's Chromium: the tests never download a browser of their own. */
export const CHROMIUM = '/usr/bin/chromium';

// The flags the browser tests run Chromium with: headless, and nothing that calls out to the network.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs Debian's chromium package when it is missing (CI starts from a clean machine). */
export function ensureChromium(): void {
  execFileSync('sh', [path.resolve('scripts/ensure-chromium.sh')], { stdio: 'inherit', timeout: 600_000 });
}

/** Builds the dashboard into a fresh temp dir (what `npm run build:web` makes), so a test serves today's code. */
export async function buildDashboard(): Promise<string> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-web-build-'));
  // vitest sets NODE_ENV=test, which would give React's development build: test what is shipped.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: path.resolve('web/vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  return outDir;
}

/** A browser with a fresh profile, at a phone's width (390 px) unless told otherwise. */
export async function launchBrowser(viewport = { width: 390, height: 844 }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go: test-results/ (gitignored), kept as test artefacts. */
export function screenshotPath(name: string): string {
  const dir = path.resolve('test-results', 'dashboard');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}
