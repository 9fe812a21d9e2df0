import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHealthy, stopGateway } from '../../src/gateway/process.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { restartActiveGateways } from '../../src/pipeline/restart-gateways.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { waitForFleet } from '../harness/wait.ts';

const app = useStandinApp({ workers: { concurrency: 1 } });

describe('restarting the gateways of active fleets when fleet serve starts again', () => {
  it('starts a gateway that died, and leaves a healthy one alone', async () => {
    const t = app();
    const token = t.token({ userId: 'user_restart' });
    await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
    const fleet = await waitForFleet(t, token, ['active']);
    const port = Number(new URL(fleet.dashboardUrl!).port);
    const host = new LocalHost(path.join(t.dataDir, 'fleets/auto_user_restart'));
    expect(await isHealthy(host, port)).toBe(true);

    await stopGateway(host);
    expect(await isHealthy(host, port)).toBe(false);
    const log = createLogger('silent');
    expect(await restartActiveGateways(t.database.db, t.settings, log)).toBe(1);
    expect(await isHealthy(host, port)).toBe(true);
    expect(await restartActiveGateways(t.database.db, t.settings, log)).toBe(0);
  });
});
