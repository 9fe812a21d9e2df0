import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCAL_STEPS } from '../../src/pipeline/steps/index.ts';
import { startWorker } from '../../src/pipeline/worker.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { waitForFleet } from '../harness/wait.ts';

/**
 * The stored fleet is the truth for every step: the agents copied from the template when the
 * request was recorded decide the workspaces, AGENTS.md and openclaw.json, whatever the template
 * file says by the time a worker gets to the run.
 */
const app = useStandinApp({});

describe('steps work from the stored fleet, not the live template', () => {
  it('builds the workspaces and the gateway config of the agents stored with the fleet', async () => {
    const t = app();
    const token = t.token({ userId: 'user_stored', orgId: 'org_stored', orgRole: 'admin' });
    const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
    expect(res.status).toBe(202);
    // Between the request and the worker, the stored team changes (as if the template file had been
    // edited after the fleet was recorded): the steps must follow the stored copy.
    const renamed = {
      name: 'keeper',
      displayName: 'Keeper',
      role: 'engineer',
      description: 'Keeps the build green and the repo tidy.',
      persona: 'Calm, brief and exact in every answer.',
    };
    await t.database.db
      .updateTable('fleets')
      .set({ agents: JSON.stringify([renamed]) })
      .execute();

    const worker = await startWorker({
      db: t.database.db,
      steps: LOCAL_STEPS,
      settings: t.settings,
      log: createLogger('silent'),
      queue: t.queue,
      concurrency: 1,
    });
    try {
      const fleet = await waitForFleet(t, token, ['active', 'error']);
      expect(fleet.status).toBe('active');
      expect(fleet.agentSpecs).toEqual([{ name: 'keeper', role: 'engineer' }]);
      const [slug] = fs.readdirSync(path.join(t.dataDir, 'fleets')).filter((n) => !n.startsWith('.'));
      const root = path.join(t.dataDir, 'fleets', slug!);
      expect(fs.readdirSync(path.join(root, 'workspaces'))).toEqual(['keeper']);
      expect(fs.readFileSync(path.join(root, 'workspaces/keeper/SOUL.md'), 'utf8')).toContain('Calm, brief and exact');
      const config = JSON.parse(fs.readFileSync(path.join(root, 'openclaw/openclaw.json'), 'utf8'));
      expect(Object.keys(config.agents.entries)).toEqual(['keeper']);
    } finally {
      await worker.stop();
    }
  });
});
