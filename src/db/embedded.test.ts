import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { useEmbeddedScratch } from '../../test/harness/embedded-scratch.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { attachEmbeddedPostgres, DataDirInUseError, startEmbeddedPostgres } from './embedded.ts';

const run = promisify(execFile);
const warnings: string[] = [];
const log = { info: () => {}, warn: (m: string) => warnings.push(m), debug: () => {} };
const { running, tmp, start, query } = useEmbeddedScratch('fleet-emb-', log);

afterEach(async () => {
  warnings.length = 0;
});

describe('embedded PostgreSQL', () => {
  it('initialises once, runs as a non-root user, keeps data across restarts', async () => {
    const dir = tmp();
    const first = await start(dir);
    await query(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
    const [owner] = await query(first.adminUrl, "SELECT current_setting('data_directory') AS d");
    expect(owner.d).toBe(path.join(dir, 'pg'));
    if (os.userInfo().uid === 0) expect(fs.statSync(path.join(dir, 'pg')).uid).not.toBe(0);
    await first.stop();
    running.length = 0;
    const second = await start(dir);
    expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
  });

  it('refuses a second owner of the same data dir with a clear message, and lets readers attach', async () => {
    const dir = tmp();
    const owner = await start(dir);
    await expect(startEmbeddedPostgres({ dataDir: dir, log })).rejects.toThrow(DataDirInUseError);
    await expect(startEmbeddedPostgres({ dataDir: dir, log })).rejects.toThrow(/in use by another fleet process \(pid \d+\)/);
    const attached = attachEmbeddedPostgres(dir);
    expect(attached?.owned).toBe(false);
    expect(await query(attached!.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await query(owner.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('stops a server left running by an owner killed with SIGKILL, then starts cleanly', async () => {
    const dir = tmp();
    const child = run(process.execPath, ['--import', 'tsx', 'test/fixtures/start-embedded-then-die.ts', dir]);
    await child.catch((e: { stdout?: string; signal?: string }) => {
      expect(e.signal).toBe('SIGKILL');
      expect(e.stdout).toContain('READY');
    });
    const stalePid = Number(fs.readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(() => process.kill(stalePid, 0)).not.toThrow();
    const db = await start(dir);
    expect(warnings.join('\n')).toMatch(new RegExp(`Stopping PostgreSQL \\(pid ${stalePid}\\) left running`));
    expect(await query(db.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
