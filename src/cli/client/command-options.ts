import type { Command } from 'commander';

/** Options and help text every client command shares. */

export interface ServerOptions {
  url?: string;
}

export interface ReadOptions extends ServerOptions {
  json?: boolean;
}

/** `--url`: the server, over FLEET_URL and the stored login. */
export const withUrl = (cmd: Command): Command =>
  cmd.option('--url <base>', 'API base URL (default: FLEET_URL, else the one `fleet login` stored, else http://localhost:3000)');

/** `--json` for a read command. */
export const withJson = (cmd: Command, what = 'print the answer as JSON'): Command => cmd.option('--json', what);

/** Shows `lines` under "Example:" in the command's --help. */
export const withExample = (cmd: Command, ...lines: string[]): Command =>
  cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);

/** Writes one value as indented JSON on stdout. */
export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
