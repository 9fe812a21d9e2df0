import { ProvisionInput } from '../../../src/services/fleet/provision-input.ts';

/** What the provision form holds, as typed. */
export interface ProvisionFormState {
  templateId: string;
  repos: string;
  discordOn: boolean;
  guildId: string;
  channelIds: string;
  /** Bot token per agent name; empty for agents without a bot. */
  botTokens: Record<string, string>;
  missionControlOn: boolean;
  missionControlUrl: string;
  missionControlToken: string;
}

/** The form's fields by the API's names for them, so a browser check and an API answer land on the same field. */
export type FieldErrors = Record<string, string>;

const words = (s: string) => s.split(/[\s,]+/).filter(Boolean);

/** The request body the form stands for, and which agent each bot of `discord.bots` is. */
export function provisionBody(f: ProvisionFormState): { body: Record<string, unknown>; botAgents: string[] } {
  const body: Record<string, unknown> = {
    templateId: f.templateId,
    repos: f.repos
      .split('\n')
      .map((r) => r.trim())
      .filter(Boolean),
  };
  const botAgents = Object.entries(f.botTokens)
    .filter(([, token]) => token.trim() !== '')
    .map(([agent]) => agent);
  if (f.discordOn) {
    body.discord = {
      guildId: f.guildId.trim(),
      channelIds: words(f.channelIds),
      bots: botAgents.map((agent) => ({ agent, token: f.botTokens[agent]!.trim() })),
    };
  }
  if (f.missionControlOn) body.missionControl = { url: f.missionControlUrl.trim(), token: f.missionControlToken.trim() };
  return { body, botAgents };
}

/**
 * The form field an error path of the API (or of the same schema in the browser) belongs to:
 * `repos.2` → `repos`, `discord.bots.0.token` → the first bot's agent's token field.
 */
export function fieldOf(path: string, botAgents: string[]): string {
  const parts = path.split('.');
  if (parts[0] === 'repos') return 'repos';
  if (parts[0] === 'discord' && parts[1] === 'channelIds') return 'discord.channelIds';
  if (parts[0] === 'discord' && parts[1] === 'bots' && parts[2] !== undefined && botAgents[Number(parts[2])]) {
    return `discord.bots.${botAgents[Number(parts[2])]}`;
  }
  if (parts[0] === 'discord' && parts[1] === 'bots') return 'discord.bots';
  return parts.slice(0, 2).join('.');
}

/** The browser's check, with the API's own schema: errors by field, or none. */
export function checkProvision(f: ProvisionFormState): FieldErrors {
  const { body, botAgents } = provisionBody(f);
  const parsed = ProvisionInput.safeParse(body);
  if (parsed.success) return {};
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const path = issue.path.map(String).join('.');
    const field = fieldOf(path, botAgents);
    const where = path.startsWith('repos.') ? `line ${Number(issue.path[1]) + 1}: ` : '';
    errors[field] ??= `${where}${issue.message}`;
  }
  return errors;
}
