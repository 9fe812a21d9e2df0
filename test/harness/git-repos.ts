import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Bare git repositories laid out like a forge (`<root>/owner/name.git`), so the product's clone
 * code runs unchanged against `file://<root>/` as its git base URL.
 */
export function makeBareRepos(root: string, repos: string[]): string {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 't@example.com',
      },
      stdio: 'pipe',
    });
  for (const repo of repos) {
    const bare = path.join(root, `${repo}.git`);
    fs.mkdirSync(bare, { recursive: true });
    git(bare, 'init', '--bare', '--initial-branch=main', '-q');
    const work = fs.mkdtempSync(path.join(root, 'work-'));
    git(work, 'init', '--initial-branch=main', '-q');
    fs.writeFileSync(path.join(work, 'README.md'), `# ${repo}\n`);
    git(work, 'add', '.');
    git(work, 'commit', '-q', '-m', 'initial');
    git(work, 'push', '-q', bare, 'main');
    fs.rmSync(work, { recursive: true, force: true });
  }
  // Clones run as each fleet's own OS user: the forge must be readable, and reachable, by others.
  fs.chmodSync(root, 0o755);
  for (let dir = path.dirname(root); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    fs.chmodSync(dir, fs.statSync(dir).mode | 0o005 | 0o001);
    if (dir === os.tmpdir()) break;
  }
  execFileSync('chmod', ['-R', 'a+rX', root]);
  return `file://${root}/`;
}
