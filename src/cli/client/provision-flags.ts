import type { Command } from 'commander';
import type { components } from '../../api/openapi-types.ts';
import { CliError, usageError } from './cli-error.ts';
import { secretValue } from './secret-value.ts';

/** The flags of `fleet provision` and `fleet tenants provision`, and the request body they make. */
export type ProvisionRequest = components['schemas']['ProvisionRequest'];

export interface ProvisionFlags {
  template?: string;
  repo?: string[];
  discordGuild?: string;
  discordChannel?: string[];
  discordBot?: string[];
  missionControlUrl?: string;
  missionControlToken?: string;
  gitToken?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addProvisionFlags(cmd: Command): Command {
  return cmd
    .option('--template <id>', "fleet template (see `fleet templates`; default: the server's default template)")
    .option('--repo <owner/name>', 'a repository cloned into every agent workspace (repeat for more)', collect)
    .option('--discord-guild <id>', 'Discord server (guild) id the agents join')
    .option('--discord-channel <id>', 'Discord channel id the agents are bound to (repeat for more)', collect)
    .option('--discord-bot <agent=token>', "an agent's Discord bot token, e.g. cantona=@cantona.token (repeat per agent)", collect)
    .option('--mission-control-url <url>', 'Mission Control base URL')
    .option('--mission-control-token <token>', 'Mission Control token (or @<file>, or -)')
    .option('--git-token <token>', 'token for private repositories (or @<file>, or -)');
}

/** The request body for the flags given; what is left out the server keeps or defaults. */
export function provisionBody(f: ProvisionFlags): ProvisionRequest {
  const body: ProvisionRequest = {};
  if (f.template !== undefined) body.templateId = f.template;
  if (f.repo !== undefined) body.repos = f.repo;
  if (f.discordGuild !== undefined || f.discordChannel !== undefined || f.discordBot !== undefined) {
    if (f.discordGuild === undefined || f.discordChannel === undefined || f.discordBot === undefined) {
      throw usageError(
        'Discord needs --discord-guild, at least one --discord-channel and at least one --discord-bot together.',
        'Example: --discord-guild 1111… --discord-channel 2222… --discord-bot cantona=@cantona.token',
      );
    }
    body.discord = {
      guildId: f.discordGuild,
      channelIds: f.discordChannel,
      bots: f.discordBot.map((b) => {
        const eq = b.indexOf('=');
        if (eq < 1) throw usageError(`--discord-bot '${b.split('=')[0]}…' must look like <agent>=<token>, e.g. cantona=@cantona.token`);
        return { agent: b.slice(0, eq), token: secretValue(b.slice(eq + 1), `--discord-bot ${b.slice(0, eq)}`) };
      }),
    };
  }
  if (f.missionControlUrl !== undefined || f.missionControlToken !== undefined) {
    if (f.missionControlUrl === undefined || f.missionControlToken === undefined) {
      throw usageError('Mission Control needs both --mission-control-url and --mission-control-token.');
    }
    body.missionControl = { url: f.missionControlUrl, token: secretValue(f.missionControlToken, '--mission-control-token') };
  }
  if (f.gitToken !== undefined) body.gitToken = secretValue(f.gitToken, '--git-token');
  return body;
}

// The body's fields as the flags that set them, for the server's "field: message" errors.
const FLAG_OF_FIELD: Array<[RegExp, string]> = [
  [/^templateId/, '--template'],
  [/^repos/, '--repo'],
  [/^discord\.guildId/, '--discord-guild'],
  [/^discord\.channelIds/, '--discord-channel'],
  [/^discord\.bots/, '--discord-bot'],
  [/^missionControl\.url/, '--mission-control-url'],
  [/^missionControl\.token/, '--mission-control-token'],
  [/^gitToken/, '--git-token'],
];

/** The server's refusal with a hint that names the flag to fix, when the field it names has one. */
export function withFlagHint(e: unknown): unknown {
  if (!(e instanceof CliError) || e.field === undefined) return e;
  const flag = FLAG_OF_FIELD.find(([re]) => re.test(e.field!))?.[1];
  if (!flag) return e;
  return new CliError(e.message, `Fix ${flag} and try again (\`--help\` lists the options).`, e.exitCode, e.field);
}
