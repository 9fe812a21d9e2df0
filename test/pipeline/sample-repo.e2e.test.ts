import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { SAMPLE_REPO } from '../../src/domain/sample-repo.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { serveOnLoopback } from '../cli/serve-app.ts';

/**
 * A first fleet on a machine without internet: the forge for real repos is a closed loopback port
 * (any clone from it fails at once, and nothing leaves the machine), and a fleet that names the
 * sample still reaches `active` over real HTTP on the local driver with the stand-in gateway.
 */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-sample-'));
const UNREACHABLE_FORGE = 'https://127.0.0.1:1/';
const offline = useStandinApp({ workers: { concurrency: 2 }, env: { FLEET_GIT_BASE_URL: UNREACHABLE_FORGE, FLEET_GATEWAY_OFFLINE: '1' } });
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  server = await serveOnLoopback(offline());
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

type Fleet = { status: string; repos: string[]; provisionLog: Array<{ step: string; status: string; message: string | null }> };

function client(token: string) {
  const call = async (pathname: string, init: { method?: string; json?: unknown } = {}) => {
    const res = await fetch(`${server.url}${pathname}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    call,
    async waitFor(statuses: string[]): Promise<Fleet> {
      const until = Date.now() + 60_000;
      for (;;) {
        const fleet = (await call('/api/fleet')).body.fleet as Fleet | null;
        if (fleet && statuses.includes(fleet.status)) return fleet;
        if (Date.now() > until) throw new Error(`fleet did not reach ${statuses.join('|')}: ${JSON.stringify(fleet, null, 1)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** Every checkout of `repo` in the fleets' workspaces under the data dir. */
function checkouts(dataDir: string, repo: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6 || !fs.existsSync(dir)) return;
    if (dir.endsWith(path.join('repos', repo))) found.push(dir);
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory() && e.name !== '.git') walk(path.join(dir, e.name), depth + 1);
  };
  walk(path.join(dataDir, 'fleets'), 0);
  return found;
}

describe('the first fleet without internet (dev mode, local driver)', () => {
  it('GET /api/templates offers the sample repository', async () => {
    const alice = client(offline().token({ userId: 'user_sample_reader' }));
    const res = await alice.call('/api/templates');
    expect(res.status).toBe(200);
    expect(res.body.sampleRepo).toBe(SAMPLE_REPO);
  });

  it('a fleet with the sample repo reaches active, each agent with a real checkout of it', async () => {
    const alice = client(offline().token({ userId: 'user_first', orgId: 'org_first', orgRole: 'admin' }));
    const res = await alice.call('/api/fleet/provision', {
      method: 'POST',
      json: { templateId: 'standard-7-agent', repos: [SAMPLE_REPO] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const fleet = await alice.waitFor(['active', 'error']);
    expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
    expect(fleet.repos).toEqual([SAMPLE_REPO]);
    // Every fleet reads the sample forge; none may change it for the others.
    const bare = path.join(offline().dataDir, 'sample-forge', `${SAMPLE_REPO}.git`);
    expect(fs.statSync(bare).mode & 0o022).toBe(0);
    expect(fs.statSync(path.join(bare, 'objects')).mode & 0o022).toBe(0);
    const clones = checkouts(offline().dataDir, SAMPLE_REPO);
    expect(clones).toHaveLength(7);
    for (const clone of clones) {
      expect(fs.readFileSync(path.join(clone, 'README.md'), 'utf8')).toContain('without');
      expect(fs.existsSync(path.join(clone, 'test', 'greet.test.js'))).toBe(true);
    }
  });

  it('any other repo still comes from FLEET_GIT_BASE_URL (here unreachable, so the run ends in error)', async () => {
    const bob = client(offline().token({ userId: 'user_other', orgId: 'org_other', orgRole: 'admin' }));
    const res = await bob.call('/api/fleet/provision', {
      method: 'POST',
      json: { templateId: 'solo-engineer', repos: ['agent-fleet/other'] },
    });
    expect(res.status).toBe(202);
    const fleet = await bob.waitFor(['error']);
    const failed = fleet.provisionLog.find((e) => e.step === 'workspace_bootstrap' && e.status === 'error');
    expect(failed?.message).toContain('agent-fleet/other');
  });
});

describe('where the sample is offered', () => {
  it('never in production, and FLEET_SAMPLE_REPO=1 is refused there', () => {
    const production = {
      NODE_ENV: 'production',
      CLERK_JWT_KEY: 'k',
      CLERK_PUBLISHABLE_KEY: 'pk_test_x',
      CLERK_AUTHORIZED_PARTIES: 'https://fleet.example',
      FLEET_PLATFORM_TOKEN: 'p'.repeat(24),
      FLEET_SECRETS_KEY: 'a'.repeat(64),
      FLEET_DATA_DIR: scratch,
    };
    expect(loadConfig(production).pipeline.sampleRepo).toBe(false);
    expect(() => loadConfig({ ...production, FLEET_SAMPLE_REPO: '1' })).toThrow(/FLEET_SAMPLE_REPO: .*refused in production/);
  });

  it('on a dev machine unless FLEET_SAMPLE_REPO=0', () => {
    expect(loadConfig({ NODE_ENV: 'development', FLEET_DATA_DIR: scratch }).pipeline.sampleRepo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', FLEET_DATA_DIR: scratch, FLEET_SAMPLE_REPO: '0' }).pipeline.sampleRepo).toBe(false);
  });
});

describe('a real forge next to the sample', () => {
  const forge = makeBareRepos(path.join(scratch, 'forge'), ['acme/api']);
  const both = useStandinApp({ workers: { concurrency: 1 }, env: { FLEET_GIT_BASE_URL: forge, FLEET_GATEWAY_OFFLINE: '1' } });

  it('clones the sample from the local sample forge and acme/api from FLEET_GIT_BASE_URL in one fleet', async () => {
    const token = both().token({ userId: 'user_both' });
    const res = await both().request('/api/fleet/provision', {
      method: 'POST',
      token,
      json: { templateId: 'solo-engineer', repos: [SAMPLE_REPO, 'acme/api'] },
    });
    expect(res.status).toBe(202);
    const until = Date.now() + 60_000;
    let fleet: Fleet | null = null;
    while (Date.now() < until) {
      fleet = ((await (await both().request('/api/fleet', { token })).json()) as { fleet: Fleet | null }).fleet;
      if (fleet && ['active', 'error'].includes(fleet.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(fleet?.status, JSON.stringify(fleet?.provisionLog, null, 1)).toBe('active');
    expect(checkouts(both().dataDir, SAMPLE_REPO)).toHaveLength(1);
    const api = checkouts(both().dataDir, 'acme/api');
    expect(fs.readFileSync(path.join(api[0] ?? '', 'README.md'), 'utf8')).toBe('# acme/api\n');
  });
});
