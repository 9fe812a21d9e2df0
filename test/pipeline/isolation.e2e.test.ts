import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../src/compute/driver.ts';
import { GATEWAY_SERVICE } from '../../src/gateway/service.ts';
import type { Host } from '../../src/hosts/host.ts';
import { canRunAsOtherUsers, lookupUser } from '../../src/hosts/os-users.ts';
import { ensureDataDirSecret, makeSecretsKey } from '../../src/runtime/dev-secrets.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { waitForFleet } from '../harness/wait.ts';

/**
 * Tenants on the local driver are kept apart by OS users: each fleet's machine and every process in
 * it (the gateway, git, the openclaw CLI) belong to a user of its own. The review's chain (an agent
 * reads the data dir's secrets and the database password, finds the secrets key in its environment,
 * decrypts every tenant's secrets) is run from inside fleet A, through its host, which is how an
 * agent's shell tool runs: every link must fail, while A's own files stay A's.
 */
const CANARY = 'canary-from-the-control-plane-environment';
const app = useStandinApp({ workers: { concurrency: 2 } });

interface Fleet {
  machine: Machine & { driver: 'local' };
  host: Host;
  gatewayPid: number;
}
const fleets: Record<'a' | 'b', Fleet> = {} as never;

async function provision(userId: string): Promise<Fleet> {
  const t = app();
  const token = t.token({ userId });
  const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer', repos: [] } });
  expect(res.status).toBe(202);
  const fleet = await waitForFleet(t, token, ['active', 'error']);
  expect(fleet.status, JSON.stringify(fleet.provisionLog)).toBe('active');
  const row = await t.database.db
    .selectFrom('step_checkpoints')
    .innerJoin('fleets', 'fleets.id', 'step_checkpoints.fleet_id')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select('step_checkpoints.output')
    .where('tenants.clerk_user_id', '=', userId)
    .where('step_checkpoints.step', '=', 'vm_create')
    .executeTakeFirstOrThrow();
  const machine = row.output as unknown as Machine & { driver: 'local' };
  const host = await t.settings.drivers.local!.openHost(machine, undefined as never);
  const { pid } = await host.serviceStatus(GATEWAY_SERVICE);
  return { machine, host, gatewayPid: pid! };
}

/** Runs `script` as fleet A's gateway would (its user, its host): the exit code. */
const asFleetA = async (script: string, ...args: string[]) =>
  (await fleets.a.host.exec('/bin/sh', ['-c', script, 'sh', ...args], { timeoutMs: 10_000 })).code;

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe.skipIf(!canRunAsOtherUsers())('tenants on the local driver, as OS users of their own', () => {
  beforeAll(async () => {
    process.env.FLEET_ISOLATION_CANARY = CANARY;
    // What a dev-mode data dir holds besides the machines: the secrets key (next to the dev signing key).
    ensureDataDirSecret(app().dataDir, 'secrets.key', makeSecretsKey);
    fleets.a = await provision('user_iso_a');
    fleets.b = await provision('user_iso_b');
  }, 60_000);

  it('give each fleet its own user, owning its machine (mode 700) and running its gateway', () => {
    const users = [fleets.a, fleets.b].map((f) => lookupUser(f.machine.osUser!)!);
    expect(users[0]!.uid).not.toBe(users[1]!.uid);
    expect(users.map((u) => u.uid)).not.toContain(0);
    for (const [i, f] of [fleets.a, fleets.b].entries()) {
      const st = fs.statSync(f.machine.root);
      expect(st.uid).toBe(users[i]!.uid);
      expect(st.mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(f.machine.root, 'openclaw/openclaw.json')).uid).toBe(users[i]!.uid);
      expect(uidOf(f.gatewayPid)).toBe(users[i]!.uid);
    }
  });

  it("keep the control plane's environment out of the gateway", () => {
    const environ = fs.readFileSync(`/proc/${fleets.a.gatewayPid}/environ`, 'utf8').split('\0');
    expect(environ.join('\n')).not.toContain(CANARY);
    expect(environ.filter((kv) => /^(FLEET_|DATABASE_URL|CLERK_|PG)/.test(kv))).toEqual([]);
  });

  it('let fleet A use its own machine, and nothing of the data dir, of fleet B or of the shared runtime', async () => {
    const t = app();
    const a = fleets.a.machine.root;
    const b = fleets.b.machine.root;
    // The positive control: the same way in works for what is A's.
    expect(await asFleetA('cat "$1/openclaw/openclaw.json" >/dev/null && touch "$1/workspaces/x"', a)).toBe(0);
    // Link 1 of the chain: the data dir's secrets (the secrets key, the dev signing key) and its listing.
    expect(await asFleetA('cat "$1/secrets.key"', t.dataDir)).not.toBe(0);
    expect(await asFleetA('cat "$1/dev-auth/jwt-private.pem"', t.dataDir)).not.toBe(0);
    expect(await asFleetA('ls "$1"', t.dataDir)).not.toBe(0);
    // Link 2: the secrets key in its own environment (the gateway's, above, and any command's).
    expect(await asFleetA('env | grep -q -e "$1" -e FLEET_SECRETS_KEY -e DATABASE_URL', CANARY)).not.toBe(0);
    // Link 3: the database's processes and their environment.
    const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(t.database.db);
    expect(await asFleetA('cat "/proc/$1/environ"', String(rows[0]!.pid))).not.toBe(0);
    // Another tenant: its config (gateway and bot tokens), its files, its processes.
    expect(await asFleetA('cat "$1/openclaw/openclaw.json"', b)).not.toBe(0);
    expect(await asFleetA('ls "$1"', b)).not.toBe(0);
    expect(await asFleetA('kill -0 "$1"', String(fleets.b.gatewayPid))).not.toBe(0);
    expect(await asFleetA('cat "/proc/$1/environ"', String(fleets.b.gatewayPid))).not.toBe(0);
    // The records that say which process is whose gateway (stop must never signal another's).
    expect(await asFleetA('touch "$1/.services/x"', path.dirname(a))).not.toBe(0);
    // The runtime every gateway executes is read-only to them.
    const runtimeDir = path.dirname(t.settings.gatewayCommand!);
    expect(await asFleetA('test -r "$1/standin-gateway.mjs" && ! touch "$1/.fleet-was-here"', runtimeDir)).toBe(0);
    expect(fs.existsSync(path.join(runtimeDir, '.fleet-was-here'))).toBe(false);
  });
});
