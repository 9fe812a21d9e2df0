import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../../src/api/app.ts';
import { ClerkVerifier } from '../../src/auth/clerk.ts';
import { DEV_PUBLISHABLE_KEY, ensureDevKeys, mintSessionToken, type MintOptions } from '../../src/auth/dev-issuer.ts';
import { loadConfig } from '../../src/config.ts';
import { countFleetsByStatus } from '../../src/db/tenants.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { TemplateRegistry } from '../../src/templates/registry.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const PLATFORM_TOKEN = 'fpt_test_platform_token_0123456789';

/**
 * The real app (real Clerk verification of real RS256 tokens, real PostgreSQL) called in-process
 * through `app.request`, plus helpers to mint sessions and seed tenants.
 */
export interface TestApp {
  app: ReturnType<typeof createApp>;
  database: TestDatabase;
  dataDir: string;
  privateKeyPem: string;
  token(opts: MintOptions): string;
  request(pathname: string, init?: RequestInit & { token?: string; platform?: boolean | string; json?: unknown }): Promise<Response>;
  createTenant(body: Record<string, unknown>): Promise<Response>;
  close(): Promise<void>;
}

export async function createTestApp(opts: { authorizedParties?: string[] } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-test-app-'));
  const keys = ensureDevKeys(dataDir);
  const config = loadConfig({ NODE_ENV: 'test', FLEET_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const verifier = new ClerkVerifier({
    jwtKey: keys.publicKeyPem,
    publishableKey: DEV_PUBLISHABLE_KEY,
    secretKey: undefined,
    authorizedParties: opts.authorizedParties,
  });
  const app = createApp({
    config,
    db: database.db,
    verifier,
    platformToken: PLATFORM_TOKEN,
    templates: TemplateRegistry.load(),
    logger: createLogger('silent'),
    metrics: new Metrics({ fleetsByStatus: () => countFleetsByStatus(database.db) }),
  });
  const t: TestApp = {
    app,
    database,
    dataDir,
    privateKeyPem: keys.privateKeyPem,
    token: (m) => mintSessionToken(keys.privateKeyPem, m),
    request: (pathname, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('authorization', `Bearer ${init.token}`);
      if (init.platform) headers.set('x-platform-token', init.platform === true ? PLATFORM_TOKEN : init.platform);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return Promise.resolve(app.request(pathname, { ...init, headers, body }));
    },
    createTenant: (body) => t.request('/api/tenants', { method: 'POST', platform: true, json: body }),
    close: async () => {
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
