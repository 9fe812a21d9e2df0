import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command, Option } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import { cliEnv, runFleet } from './cli-runner.ts';

/**
 * The CLI refuses what the API refuses, before it calls anything: every option with a closed set of
 * values, and every number, run as a user would (a subprocess) with a value outside it. Found from
 * the program itself, so an option added later is checked too.
 */
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cli-values-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
// Nothing listens on port 1: a command that got past its options would fail with exit 3, not 2.
const env = cliEnv(home, {
  FLEET_URL: 'http://127.0.0.1:1',
  FLEET_TOKEN: 'x',
  FLEET_PLATFORM_TOKEN: 'x',
  FLEET_DATA_DIR: path.join(home, 'data'),
});

function commandsOf(cmd: Command, prefix: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return cmd.commands.flatMap((c) => [{ path: [...prefix, c.name()], cmd: c }, ...commandsOf(c, [...prefix, c.name()])]);
}
const commands = commandsOf(buildProgram());
const optionsOf = (c: Command) => (c as unknown as { options: Option[] }).options;

/** The numbers the commands take, each with values outside its range. */
const NUMBERS: Record<string, string[]> = {
  '--ttl': ['1.5', '86401'],
  '--limit': ['0', '201'],
  '--concurrency': ['0', '65'],
  '--since': ['-1'],
};

describe('fleet options with a closed set of values', () => {
  const closed = commands.flatMap(({ path: p, cmd }) =>
    optionsOf(cmd)
      .filter((o) => o.argChoices)
      .map((o) => ({ path: p, flag: o.long!, choices: o.argChoices! })),
  );

  it('are found (role, status, plan)', () => {
    expect(closed.map((c) => `${c.path.join(' ')} ${c.flag}`).sort()).toEqual([
      'dev token --role',
      'login --role',
      'tenants create --plan',
      'tenants list --plan',
      'tenants list --status',
    ]);
  });

  it('are checked through `fleet tenants`, which lists by default, too', async () => {
    const res = await runFleet(['tenants', '--status', 'bogus'], env);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain("argument 'bogus' is invalid. Allowed choices are pending, provisioning, active, error, suspended");
    expect(res.stdout).toBe('');
  });

  it.each(closed)(
    '$path $flag refuses a value outside its set: exit 2, the allowed values named, nothing printed',
    async ({ path: p, flag, choices }) => {
      const res = await runFleet([...p, flag, 'bogus'], env);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toContain(`argument 'bogus' is invalid. Allowed choices are ${choices.join(', ')}`);
      expect(res.stdout).toBe('');
    },
  );
});

describe('fleet options that take a number', () => {
  const numeric = commands.flatMap(({ path: p, cmd }) =>
    optionsOf(cmd)
      .filter((o) => o.long && o.long in NUMBERS)
      .flatMap((o) => NUMBERS[o.long!]!.map((value) => ({ path: p, flag: o.long!, value }))),
  );

  it('cover every option whose value is a number', () => {
    const flags = new Set(numeric.map((n) => `${n.path.join(' ')} ${n.flag}`));
    expect([...flags].sort()).toEqual(['dev token --ttl', 'events --since', 'login --ttl', 'tenants list --limit', 'worker --concurrency']);
  });

  it.each(numeric)('$path $flag $value is refused with exit 2 and a message naming the option', async ({ path: p, flag, value }) => {
    const res = await runFleet([...p, `${flag}=${value}`, ...(p[0] === 'dev' ? ['--user', 'user_a'] : [])], env);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain(flag);
    expect(res.stdout).toBe('');
  });
});
