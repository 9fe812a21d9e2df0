import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError } from '../../src/domain/step-errors.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { cloneRepo } from '../../src/workspace/git.ts';

/** Clones are shallow, and a repository larger than the plan allows stops the clone with a clear error. */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-clone-limits-'));
const forge = path.join(scratch, 'forge');
const base = `file://${forge}/`;
let host: LocalHost;
const MiB = 1024 * 1024;

/** A bare repo `owner/name` with `commits` commits, the last one adding `bigFileBytes` of random data. */
function makeRepo(repo: string, commits: number, bigFileBytes = 0): void {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e.x', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e.x' };
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'pipe' });
  const bare = path.join(forge, `${repo}.git`);
  fs.mkdirSync(bare, { recursive: true });
  git(bare, 'init', '--bare', '--initial-branch=main', '-q');
  const work = fs.mkdtempSync(path.join(scratch, 'work-'));
  git(work, 'init', '--initial-branch=main', '-q');
  for (let i = 0; i < commits; i++) {
    fs.writeFileSync(path.join(work, 'history.txt'), `${randomBytes(64 * 1024).toString('base64')}\n`);
    if (i === commits - 1 && bigFileBytes > 0) fs.writeFileSync(path.join(work, 'big.bin'), randomBytes(bigFileBytes));
    git(work, 'add', '.');
    git(work, 'commit', '-q', '-m', `commit ${i}`);
  }
  git(work, 'push', '-q', bare, 'main');
  fs.rmSync(work, { recursive: true, force: true });
}

beforeAll(() => {
  makeRepo('acme/history', 30);
  makeRepo('acme/huge', 2, 24 * MiB);
  fs.mkdirSync(path.join(scratch, 'machine'));
  host = new LocalHost(path.join(scratch, 'machine'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('clone limits', () => {
  it('clones only the latest commit (--depth 1)', async () => {
    await cloneRepo(host, { baseUrl: base, repo: 'acme/history', dest: 'ws/history', timeoutMs: 30_000, maxBytes: 50 * MiB });
    const checkout = path.join(host.root, 'ws/history');
    expect(execFileSync('git', ['-C', checkout, 'rev-list', '--count', 'HEAD']).toString().trim()).toBe('1');
    expect(execFileSync('git', ['-C', checkout, 'rev-parse', '--is-shallow-repository']).toString().trim()).toBe('true');
  });

  it('stops a clone larger than the cap with a step error that says what to do, leaving nothing behind', async () => {
    const error = (await cloneRepo(host, {
      baseUrl: base,
      repo: 'acme/huge',
      dest: 'ws/huge',
      timeoutMs: 30_000,
      maxBytes: 8 * MiB,
    }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TerminalError);
    expect(error.message).toMatch(/acme\/huge is larger than the 8 MiB/);
    expect(error.message).toMatch(/plan/);
    expect(fs.existsSync(path.join(host.root, 'ws/huge'))).toBe(false);
    expect(fs.readdirSync(path.join(host.root, 'ws')).filter((n) => n.includes('huge'))).toEqual([]);
  });
});
