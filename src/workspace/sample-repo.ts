import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { SAMPLE_REPO } from '../domain/sample-repo.ts';

const run = promisify(execFile);

/**
 * The sample forge: `<dataDir>/sample-forge/agent-fleet/sample.git`, a bare repository made with
 * real git, so a first fleet clones it over file:// with the same code (and the same git rules) as
 * any other repo. The forge holds the sample only, and the tenant names it by its fixed name, so no
 * tenant input ever becomes a local path.
 */
export function sampleForgeDir(dataDir: string): string {
  return path.join(dataDir, 'sample-forge');
}

/** The git base URL the sample is cloned from (see workspace/git.ts repoUrl). */
export function sampleForgeUrl(dataDir: string): string {
  return `file://${sampleForgeDir(dataDir)}/`;
}

const FILES: Record<string, string> = {
  'README.md': [
    '# Sample project',
    '',
    'A small repository that Agent Fleet creates on this machine, so that a first fleet works without',
    'internet access. Replace it with your own repositories (`owner/name`) when GitHub is reachable.',
    '',
    '```sh',
    'node --test',
    '```',
    '',
  ].join('\n'),
  'package.json': `${JSON.stringify({ name: 'sample', version: '0.1.0', private: true, type: 'module', scripts: { test: 'node --test' } }, null, 2)}\n`,
  'src/greet.js':
    "/** A greeting for `name`; the agents' first task can be to extend it. */\nexport function greet(name) {\n  return 'Hello, ' + name + '!';\n}\n",
  'test/greet.test.js':
    "import assert from 'node:assert/strict';\nimport test from 'node:test';\nimport { greet } from '../src/greet.js';\n\ntest('greets by name', () => {\n  assert.equal(greet('fleet'), 'Hello, fleet!');\n});\n",
};

/**
 * Creates the sample repository when it is missing; leaves an existing one alone. It is built in
 * a temp dir and renamed into place, so a `fleet serve` and a `fleet worker` starting together on
 * one data dir never see half a repository.
 */
export async function ensureSampleRepo(dataDir: string): Promise<void> {
  const bare = path.join(sampleForgeDir(dataDir), `${SAMPLE_REPO}.git`);
  if (fs.existsSync(path.join(bare, 'HEAD'))) return;
  const owner = path.dirname(bare);
  fs.mkdirSync(owner, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(owner, `.build-${randomBytes(4).toString('hex')}-`));
  try {
    const work = path.join(scratch, 'work');
    for (const [name, text] of Object.entries(FILES)) {
      fs.mkdirSync(path.dirname(path.join(work, name)), { recursive: true });
      fs.writeFileSync(path.join(work, name), text);
    }
    // None of the operator's git config (hooks, templates, signing) and a fixed author: the same sample everywhere.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: scratch,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Agent Fleet',
      GIT_AUTHOR_EMAIL: 'sample@agent-fleet.invalid',
      GIT_COMMITTER_NAME: 'Agent Fleet',
      GIT_COMMITTER_EMAIL: 'sample@agent-fleet.invalid',
    };
    const git = (cwd: string, ...args: string[]) => run('git', args, { cwd, env, timeout: 30_000 });
    await git(work, 'init', '--quiet', '--initial-branch=main');
    await git(work, 'add', '.');
    await git(work, 'commit', '--quiet', '--no-gpg-sign', '-m', 'Sample project: a greeting and its test');
    await git(scratch, 'clone', '--quiet', '--bare', '--', work, 'sample.git');
    // Clones run as each fleet's own OS user: readable and traversable by all, writable by the operator only.
    await run('chmod', ['-R', 'u+rwX,go+rX,go-w', path.join(scratch, 'sample.git')]);
    fs.chmodSync(sampleForgeDir(dataDir), 0o755);
    fs.chmodSync(owner, 0o755);
    try {
      fs.renameSync(path.join(scratch, 'sample.git'), bare);
    } catch (e) {
      // Another process starting on the same data dir made it first: theirs is as good as ours.
      if (!fs.existsSync(path.join(bare, 'HEAD'))) throw e;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
