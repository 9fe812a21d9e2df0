import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { StepDefinition } from '../../src/pipeline/step.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { waitForFleet } from '../harness/wait.ts';

/**
 * Fair scheduling: one user can make many tenants (one per Clerk organisation, each with its own
 * run), and every run can take minutes. With two worker slots, a user who queued six slow runs must
 * not hold both slots while another tenant's run waits behind them.
 */
let releaseHog: () => void = () => {};
const hogReleased = new Promise<void>((resolve) => {
  releaseHog = resolve;
});
const steps: StepDefinition[] = [
  {
    name: 'vm_create',
    timeoutMs: 60_000,
    async run(ctx) {
      // The hog's runs take as long as the test wants; anyone else's are quick.
      if (ctx.tenant.clerk_org_id?.startsWith('org_hog')) await hogReleased;
      return { message: 'made', output: {} };
    },
  },
  { name: 'complete', timeoutMs: 60_000, run: async () => ({ message: 'done', output: {}, fleetUpdate: { dashboardUrl: 'http://x/' } }) },
];

const app = useStandinApp({ workers: { concurrency: 2, steps } });

describe('fair scheduling across tenants', () => {
  it("a user with many queued runs cannot starve another tenant's run", async () => {
    const t = app();
    try {
      for (let i = 0; i < 6; i++) {
        const token = t.token({ userId: 'user_hog', orgId: `org_hog${i}`, orgRole: 'admin' });
        expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(
          202,
        );
      }
      const victim = t.token({ userId: 'user_victim' });
      expect(
        (await t.request('/api/fleet/provision', { method: 'POST', token: victim, json: { templateId: 'solo-engineer' } })).status,
      ).toBe(202);
      const done = await waitForFleet(t, victim, ['active', 'error'], 15_000);
      expect(done.status).toBe('active');
      // The hog never had more runs at work at once than its plan allows (free: 1).
      const { rows } = await sql<{ running: number }>`
        SELECT count(*)::int AS running FROM provision_runs r JOIN fleets f ON f.id = r.fleet_id JOIN tenants t ON t.id = f.tenant_id
         WHERE t.clerk_org_id LIKE 'org_hog%' AND r.status = 'running'`.execute(t.database.db);
      expect(rows[0]!.running).toBe(1);
    } finally {
      releaseHog();
    }
    // Released, the hog's runs all finish in turn.
    for (let i = 0; i < 6; i++) {
      const token = t.token({ userId: 'user_hog', orgId: `org_hog${i}`, orgRole: 'admin' });
      expect((await waitForFleet(t, token, ['active', 'error'], 60_000)).status).toBe('active');
    }
  });
});
