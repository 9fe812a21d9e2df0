import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { TerminalError } from '../../src/pipeline/errors.ts';
import { TemplateRegistry } from '../../src/templates/registry.ts';
import { cloneRepo } from '../../src/workspace/git.ts';
import { renderWorkspaceFiles, writeWorkspaceFiles } from '../../src/workspace/files.ts';
import { makeBareRepos } from '../harness/git-repos.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-ws-'));
let base: string;
let host: LocalHost;
beforeAll(() => {
  base = makeBareRepos(path.join(scratch, 'forge'), ['acme/api']);
  fs.mkdirSync(path.join(scratch, 'machine'));
  host = new LocalHost(path.join(scratch, 'machine'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('LocalHost confinement', () => {
  it('refuses paths that leave the root', async () => {
    expect(() => host.resolve('../x')).toThrow(/escapes/);
    expect(() => host.resolve('a/../../x')).toThrow(/escapes/);
    expect(() => host.resolve('/etc/passwd')).toThrow(/escapes/);
    fs.symlinkSync('/etc', path.join(host.root, 'evil'));
    await expect(host.writeFileAtomic('evil/owned', 'x')).rejects.toThrow(/symlink/);
    await expect(host.readFile('evil/passwd')).rejects.toThrow(/symlink/);
  });

  it('writes atomically with the requested mode and leaves no temp files', async () => {
    await host.writeFileAtomic('cfg/a.json', '{"a":1}', 0o600);
    expect(fs.readFileSync(path.join(host.root, 'cfg/a.json'), 'utf8')).toBe('{"a":1}');
    expect(fs.statSync(path.join(host.root, 'cfg/a.json')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.join(host.root, 'cfg'))).toEqual(['a.json']);
  });

  it('kills a command that runs past its timeout', async () => {
    await expect(host.exec('sleep', ['5'], { timeoutMs: 200 })).rejects.toThrow(/timed out/);
  });
});

describe('cloneRepo', () => {
  it('clones once; a second run leaves the checkout alone', async () => {
    const first = await cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: 'ws/repos/acme/api', timeoutMs: 30_000 });
    expect(first.cloned).toBe(true);
    expect(first.commit).toMatch(/^[0-9a-f]{40}$/);
    fs.writeFileSync(path.join(host.root, 'ws/repos/acme/api/local-change.txt'), 'keep me');
    const second = await cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: 'ws/repos/acme/api', timeoutMs: 30_000 });
    expect(second).toEqual({ cloned: false, commit: first.commit });
    expect(fs.existsSync(path.join(host.root, 'ws/repos/acme/api/local-change.txt'))).toBe(true);
  });

  it('recovers from a crash mid-clone (a leftover .partial dir)', async () => {
    fs.mkdirSync(path.join(host.root, 'ws2/acme/api.partial'), { recursive: true });
    fs.writeFileSync(path.join(host.root, 'ws2/acme/api.partial/junk'), 'half');
    const res = await cloneRepo(host, { baseUrl: base, repo: 'acme/api', dest: 'ws2/acme/api', timeoutMs: 30_000 });
    expect(res.cloned).toBe(true);
    expect(fs.existsSync(path.join(host.root, 'ws2/acme/api.partial'))).toBe(false);
    expect(fs.existsSync(path.join(host.root, 'ws2/acme/api/README.md'))).toBe(true);
  });

  it('fails terminally, with an actionable message, for a repository that does not exist', async () => {
    const err = await cloneRepo(host, { baseUrl: base, repo: 'acme/missing', dest: 'ws/missing', timeoutMs: 30_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).toMatch(/Could not clone acme\/missing: the repository does not exist/);
    expect(fs.existsSync(path.join(host.root, 'ws/missing.partial'))).toBe(false);
  });

  it('keeps a git token out of .git/config, the remote URL and the arguments', async () => {
    const token = 'ghp_SECRETTOKEN123';
    const calls: string[][] = [];
    const spy = new Proxy(host, {
      get(target, prop, receiver) {
        if (prop === 'exec') return (cmd: string, args: string[], o: object) => (calls.push([cmd, ...args]), target.exec(cmd, args, o as never));
        return Reflect.get(target, prop, receiver);
      },
    });
    await cloneRepo(spy, { baseUrl: base, repo: 'acme/api', dest: 'ws3/api', token, timeoutMs: 30_000 });
    expect(JSON.stringify(calls)).not.toContain(token);
    expect(fs.readFileSync(path.join(host.root, 'ws3/api/.git/config'), 'utf8')).not.toMatch(/SECRETTOKEN|extraHeader/i);
    const remote = execFileSync('git', ['-C', path.join(host.root, 'ws3/api'), 'remote', 'get-url', 'origin']).toString();
    expect(remote).not.toContain(token);
  });

  it('refuses a repo name that could climb out', async () => {
    await expect(cloneRepo(host, { baseUrl: base, repo: '../etc', dest: 'x', timeoutMs: 1000 })).rejects.toThrow(/owner\/name/);
  });
});

describe('workspace files', () => {
  const template = TemplateRegistry.load().get('standard-7-agent')!;
  const input = { agent: template.agents[1]!, team: template.agents, tenantName: 'Acme', repos: ['acme/api'], discord: { guildId: '1'.repeat(18), channelIds: ['2'.repeat(18)] } };

  it('renders AGENTS.md from the role, with team, repos and a Tools section; SOUL.md from the persona', () => {
    const files = renderWorkspaceFiles(input);
    expect(files['AGENTS.md']).toContain('# Cantona — engineer');
    expect(files['AGENTS.md']).toContain(template.agents[1]!.description);
    expect(files['AGENTS.md']).toContain('**Popashot** (`popashot`, orchestrator)');
    expect(files['AGENTS.md']).toContain('`acme/api`');
    expect(files['AGENTS.md']).toMatch(/## Tools/);
    expect(files['SOUL.md']).toContain(template.agents[1]!.persona);
    expect(files['IDENTITY.md']).toContain('Role: engineer');
    expect(files['USER.md']).toContain('Acme');
  });

  it('is deterministic, so rewriting is idempotent', async () => {
    expect(renderWorkspaceFiles(input)).toEqual(renderWorkspaceFiles(input));
    await writeWorkspaceFiles(host, 'wsf/cantona', renderWorkspaceFiles(input));
    const before = fs.readFileSync(path.join(host.root, 'wsf/cantona/AGENTS.md'));
    await writeWorkspaceFiles(host, 'wsf/cantona', renderWorkspaceFiles(input));
    expect(fs.readFileSync(path.join(host.root, 'wsf/cantona/AGENTS.md')).equals(before)).toBe(true);
  });
});
