import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/harness/app.ts';
import { createDb } from '../db/connection.ts';
import { createLogger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { startMetricsListener } from './metrics-listener.ts';
import { workerReadiness } from './worker-readiness.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const log = createLogger('silent');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ workers: { concurrency: 1 } });
});
afterAll(async () => {
  await t.close();
});

/** A listener on port 0 whose readiness is `workerReadiness` over `db` and the test app's real worker. */
async function listen(db = t.database.db) {
  const listener = await startMetricsListener({
    port: 0,
    host: '127.0.0.1',
    metrics: new Metrics({ defaultMetrics: false }),
    token: TOKEN,
    log,
    readiness: workerReadiness(db, t.worker!),
  });
  const get = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${listener.port}${path}`, init);
  return { listener, get };
}

describe("a worker's probes (FLEET_METRICS_PORT)", () => {
  it('/healthz and /readyz answer 200 without credentials while /metrics still wants its token', async () => {
    const { listener, get } = await listen();
    try {
      const live = await get('/healthz');
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ ok: true });
      const ready = await get('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ok: true });
      expect((await get('/readyz', { method: 'HEAD' })).status).toBe(200);
      expect((await get('/metrics')).status).toBe(401);
      expect((await get('/readyz', { method: 'POST' })).status).toBe(405);
      expect(await (await get('/other')).text()).toContain('/metrics, /healthz and /readyz');
    } finally {
      await listener.close();
    }
  });

  it('/readyz is 503 naming the database when it does not answer; /healthz stays 200', async () => {
    // Nothing listens on port 1: the check's statement cannot connect.
    const { db } = createDb('postgres://fleet:x@127.0.0.1:1/none');
    const { listener, get } = await listen(db);
    try {
      const ready = await get('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        ok: false,
        failing: ['database'],
        error: { code: 'unavailable', message: 'Not ready: the database does not answer within 2 s.' },
      });
      expect((await get('/healthz')).status).toBe(200);
    } finally {
      await listener.close();
      await db.destroy();
    }
  });

  it('/readyz is 503 naming the workers once they are stopping', async () => {
    const { listener, get } = await listen();
    try {
      expect((await get('/readyz')).status).toBe(200);
      await t.worker!.stop();
      const ready = await get('/readyz');
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { failing: string[] }).failing).toEqual(['workers']);
    } finally {
      await listener.close();
    }
  });
});
