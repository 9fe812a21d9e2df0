import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecAbortedError, type ExecOptions, type Host } from '../../src/hosts/host.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { cloneRepo, gitEnv } from '../../src/workspace/git.ts';
import { makeBareRepos } from '../harness/git-repos.ts';
import { type GitHttpServer, startGitHttpServer } from './http-git-server.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-git-'));
const forgeRoot = path.join(scratch, 'forge');
const TOKEN = 'ghp_SECRETTOKEN1234567890';
let base: string;
let host: LocalHost;
let forge: GitHttpServer;
const opts = { timeoutMs: 30_000 };

beforeAll(async () => {
  base = makeBareRepos(forgeRoot, ['acme/api', 'acme/web', 'acme/private']);
  fs.mkdirSync(path.join(forgeRoot, 'acme/empty.git'), { recursive: true });
  execFileSync('git', ['init', '--bare', '-q', path.join(forgeRoot, 'acme/empty.git')]);
  fs.mkdirSync(path.join(scratch, 'machine'));
  host = new LocalHost(path.join(scratch, 'machine'));
  forge = await startGitHttpServer(forgeRoot, TOKEN);
});
afterAll(async () => {
  await forge?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const machine = (rel: string) => path.join(host.root, rel);
const bareHead = (repo: string) =>
  execFileSync('git', ['--git-dir', path.join(forgeRoot, `${repo}.git`), 'rev-parse', 'main'])
    .toString()
    .trim();

/** A host that records every command it is asked to run. */
function recording(inner: Host): { host: Host; calls: { cmd: string; args: string[]; env?: Record<string, string> }[] } {
  const calls: { cmd: string; args: string[]; env?: Record<string, string> }[] = [];
  const spy = Object.create(inner) as Host;
  spy.exec = (cmd: string, args: string[], o: ExecOptions) => {
    calls.push({ cmd, args, env: o.env });
    return inner.exec(cmd, args, o);
  };
  return { host: spy, calls };
}

describe('cloneRepo from a file:// forge', () => {
  it('clones once; a second run leaves the checkout and its local changes alone', async () => {
    const first = await cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: 'ws/repos/acme/api', ...opts });
    expect(first).toEqual({ cloned: true, commit: bareHead('acme/api') });
    expect(fs.readFileSync(machine('ws/repos/acme/api/README.md'), 'utf8')).toBe('# acme/api\n');
    fs.writeFileSync(machine('ws/repos/acme/api/local-change.txt'), 'keep me');
    const second = await cloneRepo(host, { baseUrl: base.replace(/\/$/, ''), repo: 'acme/api', dest: 'ws/repos/acme/api/', ...opts });
    expect(second).toEqual({ cloned: false, commit: first.commit });
    expect(fs.existsSync(machine('ws/repos/acme/api/local-change.txt'))).toBe(true);
    expect(fs.readdirSync(machine('ws/repos/acme'))).toEqual(['api']);
  });

  it('recovers from a crash mid-clone: stale temp dirs go, a young one (maybe a live clone) stays', async () => {
    fs.mkdirSync(machine('ws2/acme'), { recursive: true });
    const stale = `.api.clone-${Date.now() - 3_600_000}-dead`;
    const young = `.api.clone-${Date.now()}-live`;
    for (const d of [stale, young, 'api.partial']) {
      fs.mkdirSync(machine(`ws2/acme/${d}/.git`), { recursive: true });
      fs.writeFileSync(machine(`ws2/acme/${d}/junk`), 'half');
    }
    const res = await cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: 'ws2/acme/api', ...opts });
    expect(res.cloned).toBe(true);
    expect(fs.readdirSync(machine('ws2/acme')).sort()).toEqual([young, 'api'].sort());
    expect(fs.existsSync(machine('ws2/acme/api/README.md'))).toBe(true);
  });

  it('takes the place of an empty directory, but not of a directory with files', async () => {
    fs.mkdirSync(machine('ws3/acme/api'), { recursive: true });
    expect((await cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: 'ws3/acme/api', ...opts })).cloned).toBe(true);
    fs.mkdirSync(machine('ws3/acme/web'), { recursive: true });
    fs.writeFileSync(machine('ws3/acme/web/notes.txt'), 'mine');
    const err = await cloneRepo(host, { baseUrl: base, repo: 'acme/web', dest: 'ws3/acme/web', ...opts }).catch((e) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).toMatch(/exists on the machine and is not a git checkout/);
    expect(fs.readdirSync(machine('ws3/acme/web'))).toEqual(['notes.txt']);
  });

  it('refuses to reuse a checkout of a different remote', async () => {
    await cloneRepo(host, { baseUrl: base, repo: 'acme/web', dest: 'ws4/web', ...opts });
    const err = await cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: 'ws4/web', ...opts }).catch((e) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).toMatch(/already holds a different repository/);
  });

  it('fails terminally, with an actionable message, for a repository that does not exist', async () => {
    const err = await cloneRepo(host, { baseUrl: base, repo: 'acme/missing', dest: 'ws5/acme/missing', ...opts }).catch((e) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).toBe(
      'Could not clone acme/missing: the repository does not exist, or it is private and no git token is set. Check the name, or set a token with read access.',
    );
    expect(fs.readdirSync(machine('ws5/acme'))).toEqual([]); // no temp dir left behind
  });

  it('clones an empty repository (no commit yet)', async () => {
    expect(await cloneRepo(host, { baseUrl: base, repo: 'acme/empty', dest: 'ws6/empty', ...opts })).toEqual({ cloned: true, commit: '' });
    expect(await cloneRepo(host, { baseUrl: base, repo: 'acme/empty', dest: 'ws6/empty', ...opts })).toEqual({ cloned: false, commit: '' });
  });

  it.each(['../etc', 'acme/..', 'acme', 'acme/api/extra', '/abs/path', 'acme/api.git', '-u/x', 'acme/ api'])(
    'refuses the repo name %j without running git',
    async (repo) => {
      const rec = recording(host);
      await expect(cloneRepo(rec.host, { baseUrl: base, repo, dest: 'ws7/x', ...opts })).rejects.toThrow(TerminalError);
      expect(rec.calls).toEqual([]);
    },
  );

  it('refuses a destination outside the machine', async () => {
    await expect(cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: '../escape', ...opts })).rejects.toThrow(/refused/);
    expect(fs.existsSync(path.join(scratch, 'escape'))).toBe(false);
  });

  it('stops when aborted and leaves no temp dir', async () => {
    forge.mode = 'hang';
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      const err = await cloneRepo(host, {
        baseUrl: forge.baseUrl,
        repo: 'acme/api',
        dest: 'ws8/api',
        timeoutMs: 30_000,
        signal: ac.signal,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(ExecAbortedError);
      expect(fs.readdirSync(machine('ws8'))).toEqual([]);
    } finally {
      forge.mode = 'serve';
    }
  });
});

describe('cloneRepo over HTTP with a token', () => {
  it('sends the token as an Authorization header, and never in arguments, the URL or .git/config', async () => {
    const rec = recording(host);
    forge.authHeaders.length = 0;
    const res = await cloneRepo(rec.host, { baseUrl: forge.baseUrl, repo: 'acme/private', dest: 'wt/acme/private', token: TOKEN, ...opts });
    expect(res).toEqual({ cloned: true, commit: bareHead('acme/private') });
    // The forge saw the header on the authenticated requests…
    expect(forge.authHeaders).toContain(`Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`);
    // …no process on the machine had it in its command line while git talked to the forge…
    expect(forge.leakedCmdlines).toEqual([]);
    // …we never put it in argv (only in env, the GIT_CONFIG_* way)…
    expect(JSON.stringify(rec.calls.map((c) => [c.cmd, ...c.args]))).not.toMatch(/SECRETTOKEN|x-access-token/);
    const clone = rec.calls.find((c) => c.args[0] === 'clone')!;
    expect(clone.env?.GIT_CONFIG_KEY_1).toBe(`http.${forge.baseUrl}.extraHeader`);
    expect(clone.env?.GIT_TERMINAL_PROMPT).toBe('0');
    // …and the local-only git commands did not get it at all.
    for (const c of rec.calls.filter((x) => x.args[0] !== 'clone')) expect(JSON.stringify(c.env)).not.toContain('Authorization');
    const config = fs.readFileSync(machine('wt/acme/private/.git/config'), 'utf8');
    expect(config).not.toMatch(/SECRETTOKEN|extraheader|authorization|x-access-token/i);
    const remote = execFileSync('git', ['-C', machine('wt/acme/private'), 'remote', 'get-url', 'origin'])
      .toString()
      .trim();
    expect(remote).toBe(`${forge.baseUrl}acme/private.git`);
    // Reading the checkout back does not need the forge at all.
    expect(
      (await cloneRepo(host, { baseUrl: forge.baseUrl, repo: 'acme/private', dest: 'wt/acme/private', token: TOKEN, ...opts })).cloned,
    ).toBe(false);
  });

  it('without a token: terminal, says no token is set', async () => {
    const err = await cloneRepo(host, { baseUrl: forge.baseUrl, repo: 'acme/private', dest: 'wt2/private', ...opts }).catch((e) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).toMatch(/no git token is set/);
  });

  it('with a wrong token: terminal, blames the token, and does not echo it', async () => {
    const wrong = 'ghp_WRONGTOKEN0000';
    const err = await cloneRepo(host, { baseUrl: forge.baseUrl, repo: 'acme/private', dest: 'wt3/private', token: wrong, ...opts }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).toBe(
      'Could not clone acme/private: the repository does not exist or the git token has no access to it. Check the name, or set a token with read access.',
    );
    expect(JSON.stringify({ m: err.message, s: err.stack, c: String(err.cause) })).not.toContain('WRONGTOKEN');
    expect(fs.existsSync(machine('wt3/private'))).toBe(false);
  });

  it('refuses a token with a line break (header injection)', async () => {
    const err = await cloneRepo(host, {
      baseUrl: forge.baseUrl,
      repo: 'acme/private',
      dest: 'wt4/p',
      token: 'abc\r\nX-Evil: 1',
      ...opts,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).not.toContain('abc');
  });

  it('a server error is transient', async () => {
    forge.mode = 'error500';
    try {
      const err = await cloneRepo(host, { baseUrl: forge.baseUrl, repo: 'acme/private', dest: 'wt5/p', token: TOKEN, ...opts }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toMatch(/HTTP 500/);
      expect(err.message).not.toContain(TOKEN);
    } finally {
      forge.mode = 'serve';
    }
  });

  it('a forge that does not answer in time is transient, and leaves no temp dir', async () => {
    forge.mode = 'hang';
    try {
      const err = await cloneRepo(host, {
        baseUrl: forge.baseUrl,
        repo: 'acme/private',
        dest: 'wt6/p',
        token: TOKEN,
        timeoutMs: 800,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toMatch(/timed out after 1 s/);
      expect(fs.readdirSync(machine('wt6'))).toEqual([]);
    } finally {
      forge.mode = 'serve';
    }
  });

  it('a refused connection is transient', async () => {
    const closed = 'http://127.0.0.1:9/'; // discard port: nothing listens there
    const err = await cloneRepo(host, { baseUrl: closed, repo: 'acme/private', dest: 'wt7/p', ...opts }).catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
  });
});

describe('gitEnv', () => {
  it('resets credential helpers and scopes the header to the forge', () => {
    const { env, secrets } = gitEnv('https://github.com', 'tok');
    expect(env).toMatchObject({
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: '',
      GIT_CONFIG_KEY_1: 'http.https://github.com/.extraHeader',
      GIT_CONFIG_VALUE_1: `Authorization: Basic ${Buffer.from('x-access-token:tok').toString('base64')}`,
    });
    expect(secrets).toContain('tok');
    expect(gitEnv('https://github.com/').env.GIT_CONFIG_COUNT).toBe('1');
  });
});

describe("git runs without the machine's own git configuration", () => {
  /** A host whose environment points git at a system and a global config (our settings still win). */
  function withMachineGitConfig(inner: Host, machineEnv: Record<string, string>): Host {
    const spy = Object.create(inner) as Host;
    spy.exec = (cmd: string, args: string[], o: ExecOptions) => inner.exec(cmd, args, { ...o, env: { ...machineEnv, ...o.env } });
    return spy;
  }

  it("ignores a system and a global config that would rewrite the clone URL, and allows only the base URL's protocol", async () => {
    const home = path.join(scratch, 'home-with-gitconfig');
    fs.mkdirSync(home, { recursive: true });
    const url = (repo: string) => `${base}${repo}.git`;
    // Either rewrite, if git read it, would clone another repository in place of acme/api.
    fs.writeFileSync(path.join(home, '.gitconfig'), `[url "${url('acme/web')}"]\n\tinsteadOf = ${url('acme/api')}\n`);
    const system = path.join(scratch, 'system-gitconfig');
    fs.writeFileSync(system, `[url "${url('acme/empty')}"]\n\tinsteadOf = ${url('acme/api')}\n`);
    const machineEnv = { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), GIT_CONFIG_SYSTEM: system };
    const configured = withMachineGitConfig(host, machineEnv);

    const res = await cloneRepo(configured, { baseUrl: base, repo: 'acme/api', dest: 'wcfg/api', ...opts });
    expect(res).toEqual({ cloned: true, commit: bareHead('acme/api') });
    expect(fs.readFileSync(machine('wcfg/api/README.md'), 'utf8')).toBe('# acme/api\n');

    // What git itself reports it read: only our own settings (from the environment).
    const seen = await configured.exec('git', ['config', '--list', '--show-origin'], { env: gitEnv(base).env, timeoutMs: 10_000 });
    expect(seen.stdout).not.toContain(home);
    expect(seen.stdout).not.toContain(system);
    expect(seen.stdout).toMatch(/^command line:\s+credential\.helper=/m);

    // A file:// forge allows file only: another transport is refused before it connects.
    const other = await configured.exec('git', ['ls-remote', 'https://127.0.0.1:9/x.git'], { env: gitEnv(base).env, timeoutMs: 10_000 });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/transport 'https' not allowed/);
    expect(gitEnv(forge.baseUrl).env.GIT_ALLOW_PROTOCOL).toBe('http');
    expect(gitEnv('https://github.com/').env.GIT_ALLOW_PROTOCOL).toBe('https');
  });
});
