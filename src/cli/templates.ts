import type { Command } from 'commander';
import { call } from './client/api-call.ts';
import { printJson, type ReadOptions, withExample, withJson, withUrl } from './client/command-options.ts';
import { sessionConnection } from './client/connection.ts';
import { formatTable } from './client/table.ts';

export function registerTemplates(program: Command): void {
  const cmd = program.command('templates').description('the fleet templates you can provision from');
  withJson(withUrl(cmd));
  withExample(cmd, 'fleet templates', 'fleet templates --json | jq -r ".templates[].id"');
  cmd.action(async (opts: ReadOptions) => {
    const conn = sessionConnection(opts);
    const body = await call(conn.url, conn.api.GET('/api/templates'));
    if (opts.json) return printJson(body);
    const rows = body.templates.map((t) => [t.id, t.name, t.agents.map((a) => a.name).join(', '), t.repos.join(', ') || '-']);
    process.stdout.write(`${formatTable(['ID', 'NAME', 'AGENTS', 'DEFAULT REPOS'], rows)}\n`);
    if (body.sampleRepo) {
      process.stdout.write(`\nSample repo on this server (no internet needed): fleet provision --repo ${body.sampleRepo}\n`);
    }
  });
}
