import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { PathEscapeError } from '../../src/hosts/host.ts';
import type { HostFixture } from './fixtures.ts';

/** Files and confinement: what every Host must do (registered inside the contract suite's describe). */
export function fileContract(fx: () => HostFixture): void {
  const local = (rel: string) => path.join(fx().root, rel);
  const mode = (rel: string) => fs.statSync(local(rel)).mode & 0o777;

  it('writes atomically with exactly the requested mode, overwrites, and leaves no temp file', async () => {
    const { host } = fx();
    const oldUmask = process.umask(0o077); // the mode must not depend on the writer's umask
    try {
      await host.writeFileAtomic('cfg/a.json', '{"a":1}', 0o640);
    } finally {
      process.umask(oldUmask);
    }
    await host.writeFileAtomic('cfg/b.json', '{"b":1}');
    await host.writeFileAtomic('cfg/b.json', '{"b":2}', 0o600);
    expect(fs.readFileSync(local('cfg/b.json'), 'utf8')).toBe('{"b":2}');
    expect(mode('cfg/a.json')).toBe(0o640);
    expect(mode('cfg/b.json')).toBe(0o600);
    expect(await host.list('cfg')).toEqual(['a.json', 'b.json']);
    await host.writeFileAtomic('cfg/empty', '');
    expect(await host.readFile('cfg/empty')).toBe('');
  });

  it('never lets a reader see half a file while it is overwritten', async () => {
    const { host } = fx();
    const size = 3 << 20; // several SFTP writes and several pipe reads per file
    const versions = ['a', 'b', 'c', 'd'].map((c) => c.repeat(size));
    await host.writeFileAtomic('big/file', versions[0]!);
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const text = await fs.promises.readFile(local('big/file'), 'utf8');
        expect(text.length).toBe(size);
        expect(text[0]!.repeat(size) === text).toBe(true);
        seen.add(text[0]!);
      }
    })();
    for (const v of [...versions.slice(1), ...versions]) await host.writeFileAtomic('big/file', v);
    writing = false;
    await reader;
    expect(seen.size).toBeGreaterThan(1);
    expect(fs.readdirSync(local('big'))).toEqual(['file']);
  });

  it('cleans its temp file when the write fails', async () => {
    const { host } = fx();
    await host.mkdirp('dir-target/inner');
    await expect(host.writeFileAtomic('dir-target', 'x')).rejects.toThrow();
    expect(fs.readdirSync(fx().root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('makes directories, reads, checks existence, lists, renames over a file and removes trees', async () => {
    const { host } = fx();
    await host.mkdirp('deep/er/still');
    await host.mkdirp('deep/er/still'); // again: nothing to do
    expect(fs.statSync(local('deep/er/still')).isDirectory()).toBe(true);
    await host.writeFileAtomic('r/one.txt', 'one');
    await host.writeFileAtomic('r/two.txt', 'two');
    await host.writeFileAtomic('r/sub/x', 'x');
    expect(await host.exists('r/one.txt')).toBe(true);
    expect(await host.exists('r/sub')).toBe(true);
    expect(await host.exists('r/none.txt')).toBe(false);
    expect(await host.list('r')).toEqual(['one.txt', 'sub', 'two.txt']);
    expect(await host.list('missing-dir')).toEqual([]);
    await host.rename('r/one.txt', 'r/two.txt'); // replaces the target, as rename(2)
    expect(await host.readFile('r/two.txt')).toBe('one');
    expect(await host.list('r')).toEqual(['sub', 'two.txt']);
    await expect(host.readFile('r/one.txt')).rejects.toMatchObject({ code: 'ENOENT' });
    await host.remove('r');
    await host.remove('r'); // absent: nothing to do
    expect(await host.exists('r')).toBe(false);
  });

  it.each(['../x', 'a/../../x', 'a/..', '..', '/etc/passwd', '\\etc\\passwd', 'a\0b'])('refuses the path %j', async (rel) => {
    const { host } = fx();
    expect(() => host.resolve(rel)).toThrow(PathEscapeError);
    await expect(host.readFile(rel)).rejects.toThrow(PathEscapeError);
    await expect(host.writeFileAtomic(rel, 'x')).rejects.toThrow(PathEscapeError);
  });

  it('resolves relative paths inside the root', () => {
    const { host, root } = fx();
    expect(host.resolve('a/b.txt')).toBe(path.join(root, 'a/b.txt'));
    expect(host.resolve('')).toBe(root);
    expect(host.resolve('./a//b/')).toBe(path.join(root, 'a/b'));
  });

  it('refuses every operation through a symlink that leads outside, and touches nothing there', async () => {
    const { host, root, outside, own } = fx();
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'outside data');
    own(path.join(outside, 'secret.txt'));
    fs.symlinkSync(outside, path.join(root, 'evil'));
    await expect(host.writeFileAtomic('evil/owned', 'x')).rejects.toThrow(/symlink that leads outside/);
    await expect(host.readFile('evil/secret.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.mkdirp('evil/sub/dir')).rejects.toThrow(PathEscapeError);
    await expect(host.exists('evil/secret.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.list('evil')).rejects.toThrow(PathEscapeError);
    await expect(host.remove('evil/secret.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.rename('evil/secret.txt', 'stolen.txt')).rejects.toThrow(PathEscapeError);
    await host.writeFileAtomic('mine.txt', 'mine');
    await expect(host.rename('mine.txt', 'evil/planted.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.exec('ls', [], { cwd: 'evil', timeoutMs: 5_000 })).rejects.toThrow(PathEscapeError);
    const spec = { name: 'escape', command: '/bin/true', args: [], env: {}, cwd: '', logFile: 'evil/log' };
    await expect(host.startService(spec)).rejects.toThrow(PathEscapeError);
    await expect(host.startService({ ...spec, cwd: 'evil', logFile: 'log' })).rejects.toThrow(PathEscapeError);
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('outside data');
  });

  it('refuses a symlinked file pointing outside, and a dangling symlink', async () => {
    const { host, root, outside } = fx();
    fs.writeFileSync(path.join(outside, 'other.txt'), 'outside');
    fs.symlinkSync(path.join(outside, 'other.txt'), path.join(root, 'link.txt'));
    await expect(host.readFile('link.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.writeFileAtomic('link.txt', 'x')).rejects.toThrow(PathEscapeError);
    fs.symlinkSync(path.join(outside, 'not-yet'), path.join(root, 'dangling'));
    await expect(host.mkdirp('dangling/x')).rejects.toThrow(PathEscapeError);
    expect(fs.existsSync(path.join(outside, 'not-yet'))).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'other.txt'), 'utf8')).toBe('outside');
  });

  it('follows a symlink that stays inside the root', async () => {
    const { host, root } = fx();
    await host.writeFileAtomic('real/file.txt', 'inside');
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'alias'));
    expect(await host.readFile('alias/file.txt')).toBe('inside');
  });

  it('never removes the root itself', async () => {
    const { host, root } = fx();
    await expect(host.remove('')).rejects.toThrow(/machine root itself/);
    await expect(host.remove('.')).rejects.toThrow(/machine root itself/);
    expect(fs.existsSync(root)).toBe(true);
  });
}
