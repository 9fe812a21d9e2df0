import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openclawCommand, ensureOpenclawRuntime } from '../../src/gateway/runtime.ts';
import { stopGateway } from '../../src/gateway/process.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { VM_RUNTIME_REL } from '../../src/gateway/runtime-on-vm.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { type GcpWorld, startGcpWorld } from '../harness/gcp-vm.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { completeCounts, waitFor, waitForFleet } from '../harness/wait.ts';
import { countReady, listOfHost } from '../../src/db/warm-gateways.ts';
import { type MissionControlStandin, startMissionControlStandin } from '../standins/mission-control-server.ts';
import { configuredRuntimeCacheDir } from '../gateway/helpers.ts';

/**
 * One provisioning end to end with the REAL OpenClaw gateway (npm run test:openclaw): the pinned
 * runtime from the shared runtime cache (installed on first use), the rendered openclaw.json
 * accepted by `openclaw config validate`, the gateway healthy on loopback. Offline mode keeps the
 * gateway from calling out; Discord is not configured (its plugin would dial Discord itself).
 */
const enabled = process.env.FLEET_TEST_OPENCLAW === '1';
const MC_TOKEN = 'mc-real-token';

describe.skipIf(!enabled)('provisioning with the real OpenClaw gateway', () => {
  let t: TestApp;
  let mc: MissionControlStandin;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-real-'));

  beforeAll(async () => {
    delete process.env.FLEET_GATEWAY_COMMAND;
    // Install (or find) the runtime before the clock of the provisioning test starts.
    await ensureOpenclawRuntime({ cacheDir: configuredRuntimeCacheDir(), log: (m) => console.log(`[runtime] ${m}`) });
    mc = await startMissionControlStandin({ token: MC_TOKEN });
    t = await createTestApp({
      workers: { concurrency: 1 },
      env: {
        FLEET_GIT_BASE_URL: makeBareRepos(path.join(scratch, 'forge'), ['acme/api']),
        FLEET_GATEWAY_OFFLINE: '1',
        FLEET_TEST_ALLOW_LOOPBACK_URLS: '1',
      },
    });
  }, 20 * 60_000);

  afterAll(async () => {
    const root = path.join(t.dataDir, 'fleets', 'auto_real');
    await stopGateway(new LocalHost(root)).catch(() => undefined);
    await t.close();
    await mc.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('takes a standard-7-agent fleet to active with a live, ready gateway', { timeout: 10 * 60_000 }, async () => {
    const token = t.token({ userId: 'user_real', orgId: 'org_real', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', {
      method: 'POST',
      token,
      json: { templateId: 'standard-7-agent', repos: ['acme/api'], missionControl: { url: mc.url, token: MC_TOKEN } },
    });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(t, token, ['active', 'error'], 9 * 60_000);
    expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
    expect(completeCounts(fleet)).toEqual({
      vm_create: 1,
      workspace_bootstrap: 1,
      agent_config: 1,
      gateway_start: 1,
      connectivity_check: 1,
      complete: 1,
    });
    const gateway = fleet.provisionLog.find((e) => e.step === 'gateway_start' && e.status === 'complete')!;
    expect(gateway.message).toMatch(/OpenClaw 2026\.9\.6 gateway started/);
    console.log(`gateway_start: ${gateway.message} (${gateway.durationMs} ms)`);

    const ready = await fetch(`${fleet.dashboardUrl}readyz`);
    expect(ready.status).toBe(200);
    const runtime = await ensureOpenclawRuntime({ cacheDir: configuredRuntimeCacheDir() });
    const root = path.join(t.dataDir, 'fleets', 'auto_real');
    const { command, args } = openclawCommand(runtime, ['config', 'validate']);
    const out = execFileSync(command, args, {
      env: {
        ...process.env,
        OPENCLAW_CONFIG_PATH: path.join(root, 'openclaw/openclaw.json'),
        OPENCLAW_STATE_DIR: path.join(root, 'openclaw/state'),
      },
      encoding: 'utf8',
    });
    expect(out).not.toMatch(/invalid|error/i);
  });
});

describe.skipIf(!enabled)('provisioning on the GCP driver with the real OpenClaw gateway, over SSH', () => {
  let world: GcpWorld;
  let t: TestApp;
  let slug: string | undefined;

  beforeAll(async () => {
    delete process.env.FLEET_GATEWAY_COMMAND;
    world = await startGcpWorld();
    t = await createTestApp({
      workers: { concurrency: 1 },
      drivers: { gcp: world.driver },
      computeDriver: 'gcp',
      env: { FLEET_GATEWAY_OFFLINE: '1' },
    });
  }, 120_000);

  afterAll(async () => {
    if (slug) await world.removeFleet(t.database.db, t.box, slug).catch(() => undefined);
    await t?.close();
    await world?.close();
  });

  it('installs the runtime on the VM from the shipped lockfiles and runs the gateway there to active', {
    timeout: 20 * 60_000,
  }, async () => {
    const token = t.token({ userId: 'user_real_vm' });
    const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer', repos: [] } });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(t, token, ['active', 'error'], 19 * 60_000);
    slug = (await t.database.db.selectFrom('tenants').select('slug').executeTakeFirstOrThrow()).slug;
    expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
    const gateway = fleet.provisionLog.find((e) => e.step === 'gateway_start' && e.status === 'complete')!;
    expect(gateway.message).toMatch(/OpenClaw 2026\.9\.6 gateway started .* after installing the runtime/);
    console.log(`gateway_start on the VM: ${gateway.message} (${gateway.durationMs} ms)`);

    // The runtime is the VM's own, inside the fleet's root and owned by the SSH user.
    const runtimeDir = path.join(world.sshd.user.home, 'fleets', slug, VM_RUNTIME_REL);
    expect(fs.statSync(path.join(runtimeDir, '.fleet-runtime.json')).uid).toBe(world.sshd.user.uid);
    expect(JSON.parse(fs.readFileSync(path.join(runtimeDir, '.fleet-runtime.json'), 'utf8'))).toMatchObject({ openclaw: '2026.9.6' });
    const ready = await fetch(`${fleet.dashboardUrl}readyz`);
    expect(ready.status).toBe(200);
  });
});

describe.skipIf(!enabled)('a provision on a pooled real OpenClaw gateway (FLEET_WARM_POOL=1)', () => {
  let t: TestApp;

  beforeAll(async () => {
    delete process.env.FLEET_GATEWAY_COMMAND;
    t = await createTestApp({ workers: { concurrency: 1 }, env: { FLEET_GATEWAY_OFFLINE: '1', FLEET_WARM_POOL: '1' } });
    // The pooled gateway's cold start happens here, before the provision's clock starts.
    await waitFor(async () => (await countReady(t.database.db, t.settings.hostId)) === 1, 5 * 60_000, 'a ready pooled gateway');
  }, 6 * 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("reloads the pooled gateway with the tenant's agents instead of starting one", { timeout: 5 * 60_000 }, async () => {
    const [pooled] = await listOfHost(t.database.db, t.settings.hostId);
    const token = t.token({ userId: 'user_real_warm' });
    const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer', repos: [] } });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(t, token, ['active', 'error'], 4 * 60_000);
    expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
    const gateway = fleet.provisionLog.find((e) => e.step === 'gateway_start' && e.status === 'complete')!;
    console.log(`gateway_start on a pooled gateway: ${gateway.message} (${gateway.durationMs} ms)`);
    expect(gateway.message).toMatch(/OpenClaw 2026\.9\.6 gateway from the warm pool took the fleet's configuration/);
    expect(new URL(fleet.dashboardUrl!).port).toBe(String(pooled!.port));
    expect((await fetch(`${fleet.dashboardUrl}readyz`)).status).toBe(200);
  });
});
