import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';

/** Every `fleet` command's --help, as a person reads it. */
function allCommands(cmd: Command, prefix = ''): Array<{ path: string; cmd: Command }> {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => {
      const path = `${prefix}${c.name()}`;
      return [{ path, cmd: c }, ...allCommands(c, `${path} `)];
    });
}

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

describe('fleet --help', () => {
  const commands = allCommands(buildProgram());

  it('lists the client and the local commands', () => {
    const paths = commands.map((c) => c.path);
    for (const p of ['login', 'status', 'provision', 'retry', 'events', 'templates', 'tenants list', 'tenants show', 'tenants provision'])
      expect(paths).toContain(p);
    for (const p of ['serve', 'worker', 'migrate', 'dev token', 'gateways stop']) expect(paths).toContain(p);
  });

  it('shows an example on every command, one that runs the command itself', () => {
    for (const { path, cmd } of commands) {
      const help = helpOf(cmd);
      expect(help, path).toMatch(/\nExamples?:\n/);
      const examples = help.slice(help.search(/\nExamples?:\n/));
      expect(examples, path).toContain(path.split(' ')[0]);
    }
  });

  it('offers --json on every read command', () => {
    for (const path of ['status', 'events', 'templates', 'tenants list', 'tenants show']) {
      expect(helpOf(commands.find((c) => c.path === path)!.cmd), path).toContain('--json');
    }
  });
});
