import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, type TestApp, type TestAppOptions } from './app.ts';

export const STANDIN_GATEWAY = path.resolve('test/gateway/standin-gateway.mjs');

/**
 * A test app for the file (created before its tests, closed after) whose gateways are the fast
 * stand-in instead of the real OpenClaw runtime.
 */
export function useStandinApp(opts: TestAppOptions): () => TestApp {
  let t: TestApp | undefined;
  beforeAll(async () => {
    process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
    t = await createTestApp(opts);
  });
  afterAll(async () => {
    await t?.close();
    delete process.env.FLEET_GATEWAY_COMMAND;
  });
  return () => {
    if (!t) throw new Error('the test app is created in beforeAll');
    return t;
  };
}
