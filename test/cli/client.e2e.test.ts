import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_TOKEN } from '../harness/app.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { cliEnv, FLEET_BIN, runFleet, runFleetUntil } from './cli-runner.ts';
import { serveOnLoopback } from './serve-app.ts';

/**
 * The `fleet` client commands as a user runs them: the binary in a child process, talking HTTP to
 * the real app (real PostgreSQL, real Clerk verification, real workers with the stand-in
 * gateway and real git clones from a local forge), served on an ephemeral loopback port.
 */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cli-client-'));
const forge = makeBareRepos(path.join(scratch, 'forge'), ['acme/api']);
const app = useStandinApp({ workers: { concurrency: 2 }, env: { FLEET_GIT_BASE_URL: forge } });
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  server = await serveOnLoopback(app());
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A user of the CLI with a home (and config dir) of their own; `--dev` tokens come from the app's data dir. */
function user(name: string) {
  const home = path.join(scratch, name);
  fs.mkdirSync(home, { recursive: true });
  const env = cliEnv(home, { FLEET_DATA_DIR: app().dataDir });
  return {
    env,
    configFile: path.join(home, 'config', 'agent-fleet', 'config.json'),
    fleet: (...args: string[]) => runFleet(args, env),
    fleetWithInput: (input: string, ...args: string[]) => runFleet(args, env, input),
    until: (args: string[], until: (out: string) => boolean) => runFleetUntil(args, env, until),
  };
}

const NO_STACK = /\n\s+at .+:\d+/;
const jsonLines = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; event: string; data: Record<string, unknown> });

describe('fleet login', () => {
  it('checks a dev token with the server and stores the URL and token mode 600; status --json then says there is no fleet', async () => {
    const alice = user('alice');
    const login = await alice.fleet('login', '--dev', '--user', 'user_alice', '--org', 'org_alice', '--url', server.url);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain(`Signed in to ${server.url} as user_alice (organisation org_alice, admin)`);
    expect(fs.statSync(alice.configFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(alice.configFile)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(fs.readFileSync(alice.configFile, 'utf8'));
    expect(stored.url).toBe(server.url);
    expect(stored.token).toMatch(/^eyJ/);

    const status = await alice.fleet('status', '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toStrictEqual({ ok: true, fleet: null });
    const text = await alice.fleet('status');
    expect(text.stdout).toContain('No fleet yet. Provision one: fleet provision');
  });

  it('refuses a token the server refuses, with its message and a hint, and stores nothing', async () => {
    const mallory = user('mallory');
    const token = app().token({ userId: 'user_mallory', claims: { exp: Math.floor(Date.now() / 1000) - 60 } });
    const login = await mallory.fleetWithInput(token, 'login', '--url', server.url, '--token', '-');
    expect(login.code).toBe(4);
    expect(login.stderr).toMatch(/^error: The session token was rejected/m);
    expect(login.stderr).toContain('hint: Give a current session token of that server');
    expect(login.stderr).not.toMatch(NO_STACK);
    expect(fs.existsSync(mallory.configFile)).toBe(false);
  });

  it('says how to sign in when there is no login, and which server it cannot reach', async () => {
    const nobody = user('nobody');
    const notSignedIn = await nobody.fleet('status');
    expect(notSignedIn.code).toBe(4);
    expect(notSignedIn.stderr).toContain('error: Not signed in');
    expect(notSignedIn.stderr).toContain('hint: Run `fleet login');

    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const unreachable = await nobody.fleet('login', '--dev', '--user', 'user_nobody', '--url', `http://127.0.0.1:${closed}`);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain(`Cannot reach the Agent Fleet API at http://127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(unreachable.stderr).not.toMatch(NO_STACK);
  });
});

describe('provisioning from the CLI', () => {
  it('provisions, watches the run to active in plain lines, and shows the result as JSON and events', { timeout: 90_000 }, async () => {
    const bob = user('bob');
    expect((await bob.fleet('login', '--dev', '--user', 'user_bob', '--org', 'org_bob', '--url', server.url)).code).toBe(0);

    const templates = await bob.fleet('templates', '--json');
    const ids = (JSON.parse(templates.stdout) as { templates: Array<{ id: string }> }).templates.map((t) => t.id);
    expect(ids).toContain('solo-engineer');
    const table = await bob.fleet('templates');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +NAME +AGENTS +DEFAULT REPOS$/);
    // A dev server offers its local sample repo, which needs no internet.
    expect(table.stdout).toContain('Sample repo on this server (no internet needed): fleet provision --repo agent-fleet/sample');

    const provision = await bob.fleet('provision', '--template', 'solo-engineer', '--repo', 'acme/api', '--json');
    expect(provision.code, provision.stderr).toBe(0);
    const accepted = JSON.parse(provision.stdout);
    expect(accepted).toMatchObject({ ok: true, started: true, runId: expect.stringMatching(/^run_/) });

    const watch = await bob.fleet('status', '--watch');
    expect(watch.code, watch.stderr).toBe(0);
    const lines = watch.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('status active: fleet is live and agents are running');
    for (const step of ['vm_create', 'workspace_bootstrap', 'agent_config', 'gateway_start', 'connectivity_check', 'complete'])
      expect(
        lines.some((l) => new RegExp(` ${step} complete \\(\\d+\\.\\ds\\)`).test(l)),
        step,
      ).toBe(true);

    const status = JSON.parse((await bob.fleet('status', '--json')).stdout);
    expect(status.fleet).toMatchObject({ status: 'active', templateId: 'solo-engineer', repos: ['acme/api'] });
    const text = (await bob.fleet('status')).stdout;
    expect(text).toMatch(/^status +active \(fleet is live and agents are running\)$/m);
    expect(text).toMatch(/^STEP +STATE +DURATION +MESSAGE$/m);

    // Every event since the first, one JSON object per line, ending with the fleet going active.
    const events = await bob.until(['events', '--since', '0', '--json'], (out) => out.includes('"status":"active"'));
    const parsed = jsonLines(events);
    expect(parsed[0]).toMatchObject({ event: 'status', data: { status: 'pending' } });
    expect(parsed.filter((e) => e.event === 'log' && e.data.status === 'complete').map((e) => e.data.step)).toEqual([
      'vm_create',
      'workspace_bootstrap',
      'agent_config',
      'gateway_start',
      'connectivity_check',
      'complete',
    ]);
    expect(parsed.every((e) => e.data.runId === undefined || e.data.runId === accepted.runId)).toBe(true);
  });

  it('suspends, resumes and deprovisions with the lifecycle verbs, and wants --yes to deprovision', { timeout: 120_000 }, async () => {
    const dora = user('dora');
    expect((await dora.fleet('login', '--dev', '--user', 'user_dora', '--url', server.url)).code).toBe(0);
    expect((await dora.fleet('provision', '--template', 'solo-engineer', '--watch')).code).toBe(0);

    const suspend = await dora.fleet('suspend', '--reason', 'holiday', '--watch');
    expect(suspend.code, suspend.stderr).toBe(0);
    expect(suspend.stdout).toMatch(/^suspend run run_\w+ started/m);
    expect(JSON.parse((await dora.fleet('status', '--json')).stdout).fleet.status).toBe('suspended');
    // Refused from there, with the server's words and a hint.
    const again = await dora.fleet('suspend');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/fleet is suspended; allowed: resume, deprovision/);
    expect(again.stderr).not.toMatch(NO_STACK);

    expect((await dora.fleet('resume', '--watch')).code).toBe(0);
    expect(JSON.parse((await dora.fleet('status', '--json')).stdout).fleet.status).toBe('active');

    const unconfirmed = await dora.fleet('deprovision');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    const gone = await dora.fleet('deprovision', '--yes', '--watch');
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(/^deprovision run run_\w+ started/m);
    expect(gone.stdout.trim().split('\n').at(-1)).toBe('fleet deprovisioned');
    expect(JSON.parse((await dora.fleet('status', '--json')).stdout).fleet).toBeNull();
  });

  it('reconfigures (only the affected steps run again) and reprovisions with --confirm', { timeout: 120_000 }, async () => {
    const erin = user('erin');
    expect((await erin.fleet('login', '--dev', '--user', 'user_erin', '--url', server.url)).code).toBe(0);
    expect((await erin.fleet('provision', '--template', 'solo-engineer', '--watch')).code).toBe(0);
    const nothing = await erin.fleet('reconfigure');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/Nothing to change/);
    const reconfigure = await erin.fleet('reconfigure', '--repo', 'acme/api', '--watch');
    expect(reconfigure.code, reconfigure.stderr).toBe(0);
    const status = JSON.parse((await erin.fleet('status', '--json')).stdout).fleet;
    expect(status).toMatchObject({ status: 'active', repos: ['acme/api'] });

    expect((await erin.fleet('reprovision')).code).toBe(2); // --confirm is required
    const wrong = await erin.fleet('reprovision', '--confirm', 'not_mine');
    expect(wrong.code).toBe(1);
    // The refusal names the tenantId to type.
    const tenantId = /send \{"confirm": "([^"]+)"\}/.exec(wrong.stderr)?.[1];
    expect(tenantId, wrong.stderr).toMatch(/^auto_/);
    expect(wrong.stderr).not.toMatch(NO_STACK);
    const again = await erin.fleet('reprovision', '--confirm', tenantId!, '--watch');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^reprovision run run_\w+ started/m);
    expect(JSON.parse((await erin.fleet('status', '--json')).stdout).fleet).toMatchObject({ status: 'active', repos: ['acme/api'] });
  });

  it('exits 1 from status --watch when the run ends in error, with the failed step and what to do', { timeout: 60_000 }, async () => {
    const carol = user('carol');
    await carol.fleet('login', '--dev', '--user', 'user_carol', '--org', 'org_carol', '--url', server.url);
    const provision = await carol.fleet('provision', '--template', 'solo-engineer', '--repo', 'acme/missing');
    expect(provision.code, provision.stderr).toBe(0);
    expect(provision.stdout).toMatch(/^Run run_\w+ started: fleet provisioning/);
    const watch = await carol.fleet('status', '--watch');
    expect(watch.code).toBe(1);
    expect(watch.stdout).toMatch(/ workspace_bootstrap error \(\d+\.\ds\): Could not clone acme\/missing/);
    expect(watch.stderr).toMatch(/^error: Provisioning failed at workspace_bootstrap: Could not clone acme\/missing/m);
    expect(watch.stderr).toContain('hint: Fix what the step says, then `fleet retry`');
    expect(watch.stderr).not.toMatch(NO_STACK);

    // A retry is accepted and fails the same way (the repo is still missing): the watch exits 1 again.
    const retry = await carol.fleet('retry', '--watch');
    expect(retry.code).toBe(1);
    expect(retry.stdout).toMatch(/^Run run_\w+ started/);
  });

  it("prints the server's refusal and a hint naming the flag to fix, never a stack", async () => {
    const dan = user('dan');
    await dan.fleet('login', '--dev', '--user', 'user_dan', '--org', 'org_dan', '--url', server.url);
    const bad = await dan.fleet('provision', '--repo', 'not a repo');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: repos\.0: /m);
    expect(bad.stderr).toContain('hint: Fix --repo and try again');
    expect(bad.stderr).not.toMatch(NO_STACK);

    const discord = await dan.fleet('provision', '--discord-guild', '111111111111111111');
    expect(discord.code).toBe(2);
    expect(discord.stderr).toContain(
      'Discord needs --discord-guild, at least one --discord-channel and at least one --discord-bot together',
    );

    const member = user('erin');
    await member.fleet('login', '--dev', '--user', 'user_erin', '--org', 'org_dan', '--role', 'member', '--url', server.url);
    const forbidden = await member.fleet('provision', '--repo', 'acme/api');
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^error: .*admin/im);
    expect(forbidden.stderr).toContain('hint: In an organisation only its admins provision');
  });
});

// util-linux `script` runs a command on a pseudo-terminal, as a person's shell would.
const hasScript = spawnSync('script', ['--version']).status === 0;

describe('status --watch in a terminal', () => {
  it.skipIf(!hasScript)(
    'redraws the steps in place, with a spinner, durations and colours, until active',
    { timeout: 60_000 },
    async () => {
      const fay = user('fay');
      await fay.fleet('login', '--dev', '--user', 'user_fay', '--org', 'org_fay', '--url', server.url);
      // Watching starts before the fleet exists, so the terminal sees the whole run live.
      const child = spawn('script', ['-qfec', `${process.execPath} ${FLEET_BIN} status --watch`, '/dev/null'], {
        env: { ...fay.env, COLUMNS: '120', TERM: 'xterm' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
      const deadline = Date.now() + 20_000;
      while (!out.includes('No fleet yet') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('No fleet yet: waiting for one to be provisioned');
      expect((await fay.fleet('provision', '--template', 'solo-engineer', '--repo', 'acme/api')).code).toBe(0);
      expect(await exited).toBe(0);
      const shown = out.replaceAll('\u001b', '<ESC>'); // escape codes, made visible to match on
      expect(shown).toMatch(/<ESC>\[\d+F<ESC>\[J/); // moved up and redrew
      expect(shown).toMatch(/<ESC>\[36m[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]<ESC>\[0m \w+/); // a spinner on a running step
      expect(shown).toMatch(/<ESC>\[32m✓<ESC>\[0m gateway_start +\d+\.\ds/);
      expect(shown).toContain('fleet <ESC>[32mactive<ESC>[0m: fleet is live and agents are running');
      child.stdin.end();
    },
  );
});

describe('operator commands over HTTP', () => {
  it('lists, creates, shows and provisions tenants with the platform token', { timeout: 60_000 }, async () => {
    const op = user('operator');
    const withToken = ['--url', server.url, '--platform-token', PLATFORM_TOKEN];
    const created = await op.fleet(
      'tenants',
      'create',
      '--tenant-id',
      'globex',
      '--name',
      'Globex',
      '--clerk-org',
      'org_globex',
      ...withToken,
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).tenant).toMatchObject({ tenantId: 'globex', status: 'pending' });

    const list = await op.fleet('tenants', 'list', '--status', 'pending', ...withToken);
    expect(list.code, list.stderr).toBe(0);
    const [header, ...rows] = list.stdout.trim().split('\n');
    expect(header).toMatch(/^TENANT +ID +STATUS +PLAN +TEMPLATE +OWNER$/);
    expect(rows.some((r) => /^globex +tnt_\w+ +pending +free +standard-7-agent +org_globex$/.test(r))).toBe(true);
    const json = JSON.parse((await op.fleet('tenants', ...withToken, '--json')).stdout);
    expect(json.tenants.map((t: { tenantId: string }) => t.tenantId)).toContain('globex');

    const provision = await op.fleet('tenants', 'provision', 'globex', '--template', 'solo-engineer', '--repo', 'acme/api', ...withToken);
    expect(provision.code, provision.stderr).toBe(0);
    expect(provision.stdout).toContain('Follow it with: fleet tenants show globex');
    const show = JSON.parse((await op.fleet('tenants', 'show', 'globex', ...withToken, '--json')).stdout);
    expect(show.tenant.tenantId).toBe('globex');
    expect(show.fleet.templateId).toBe('solo-engineer');
    const solo = JSON.parse((await op.fleet('tenants', 'list', '--template', 'solo-engineer', ...withToken, '--json')).stdout);
    expect(solo.tenants.map((t: { tenantId: string }) => t.tenantId)).toContain('globex');
    const seven = JSON.parse((await op.fleet('tenants', 'list', '--template', 'standard-7-agent', ...withToken, '--json')).stdout);
    expect(seven.tenants.map((t: { tenantId: string }) => t.tenantId)).not.toContain('globex');

    const missing = await op.fleet('tenants', 'show', 'nobody_here', ...withToken);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("error: No tenant 'nobody_here'.");
    expect(missing.stderr).toContain('hint: List the tenants with `fleet tenants list`.');
  });

  it('refuses what the API refuses: a bogus status, a missing or wrong platform token', async () => {
    const op = user('operator2');
    const bogus = await op.fleet('tenants', '--status', 'bogus', '--url', server.url, '--platform-token', PLATFORM_TOKEN);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("argument 'bogus' is invalid. Allowed choices are pending, provisioning, active, error, suspended");
    expect(bogus.stdout).toBe('');

    const none = await op.fleet('tenants', 'list', '--url', server.url);
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('error: Operator commands need the platform token.');

    const wrong = await op.fleetWithInput(
      'fpt_not_the_platform_token_at_all',
      'tenants',
      'list',
      '--url',
      server.url,
      '--platform-token',
      '-',
    );
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('error: The X-Platform-Token header is not valid.');
    expect(wrong.stderr).toContain("hint: Use this server's platform token: FLEET_PLATFORM_TOKEN");
    expect(wrong.stderr).not.toMatch(NO_STACK);
  });
});
