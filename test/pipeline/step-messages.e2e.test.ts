import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBareRepos } from '../harness/git-repos.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { type FleetBody, waitFor, waitForFleet } from '../harness/wait.ts';

/**
 * What a tenant reads in the provision log when a step fails, one kind of failure each, through the
 * real pipeline (real git, the stand-in gateway): a message says once what happened and what to do,
 * never "it will be retried" next to "gave up".
 */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-step-messages-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const CONTRADICTION = /will be retried|it can be tried again|attempt\(s\)/i;
const entriesOf = (fleet: FleetBody, status: string) => fleet.provisionLog.filter((e) => e.status === status).map((e) => e.message ?? '');

describe('a network failure (the forge is a closed loopback port)', () => {
  const app = useStandinApp({
    workers: { concurrency: 2 },
    env: { FLEET_GIT_BASE_URL: 'https://127.0.0.1:1/', FLEET_HEARTBEAT_SECONDS: '0.3' },
  });

  it('while retried: each retry is one progress line saying what happened, when it tries again and which attempt', async () => {
    const t = app();
    const token = t.token({ userId: 'user_gaveup', orgId: 'org_gaveup', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', {
      method: 'POST',
      token,
      json: { templateId: 'solo-engineer', repos: ['acme/api'] },
    });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(t, token, ['error']);
    // Other progress lines of the step (which clone is under way) may sit between them.
    const retries = entriesOf(fleet, 'running').filter((m) => m.includes('Trying again'));
    expect(retries).toHaveLength(4);
    retries.forEach((message, i) => {
      expect(message).toMatch(
        new RegExp(`^Cloning acme/api failed on the network \\(.+\\)\\. Trying again in \\d+ (ms|s) \\(attempt ${i + 2} of 5\\)\\.$`),
      );
      expect(message).not.toMatch(CONTRADICTION);
    });

    // Given up: what happened, then once what to do; nothing promises another try.
    const [failed] = entriesOf(fleet, 'error');
    expect(failed).toMatch(
      /^Cloning acme\/api failed on the network \(.+\)\. Gave up after 5 attempts; retry the fleet when the cause is fixed\.$/,
    );
    expect(failed).not.toMatch(CONTRADICTION);
    expect(failed).not.toMatch(/Trying again/);
  });

  it('cancelled while waiting to retry: says it was cancelled and how to go on, not that it gave up', async () => {
    const t = app();
    const token = t.token({ userId: 'user_cancels', orgId: 'org_cancels', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', {
      method: 'POST',
      token,
      json: { templateId: 'solo-engineer', repos: ['acme/api'] },
    });
    expect(res.status).toBe(202);
    await waitFor(
      async () => entriesOf(await waitForFleet(t, token, ['provisioning']), 'running').some((m) => m.includes('Trying again')),
      20_000,
      'the first retry',
    );
    expect((await t.request('/api/fleet/cancel', { method: 'POST', token })).status).toBe(202);
    const fleet = await waitForFleet(t, token, ['error'], 15_000);
    expect(entriesOf(fleet, 'error')).toEqual([
      'Cancelled by user:user_cancels during workspace_bootstrap. Nothing after it ran; retry the fleet to resume at this step, or deprovision it.',
    ]);
  });
});

describe('a terminal failure (a repository the forge does not have)', () => {
  const forge = makeBareRepos(path.join(scratch, 'forge'), ['acme/api']);
  const app = useStandinApp({ workers: { concurrency: 1 }, env: { FLEET_GIT_BASE_URL: forge } });

  it('is tried once and says what to fix, with no retry talk', async () => {
    const t = app();
    const token = t.token({ userId: 'user_terminal', orgId: 'org_terminal', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', {
      method: 'POST',
      token,
      json: { templateId: 'solo-engineer', repos: ['acme/missing'] },
    });
    expect(res.status).toBe(202);
    const fleet = await waitForFleet(t, token, ['error']);
    expect(entriesOf(fleet, 'running').filter((m) => /Trying again|Gave up/.test(m))).toEqual([]);
    expect(entriesOf(fleet, 'error')).toEqual([
      'Could not clone acme/missing: the repository does not exist, or it is private and no git token is set. Check the name, or set a token with read access.',
    ]);
  });
});
