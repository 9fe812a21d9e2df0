/**
 * A fleet's provisioning settings in their two homes: the non-secret part stored in
 * `fleets.settings`, the secrets encrypted in `fleet_secrets` (by name). Steps see both joined as a
 * FleetRequest. Pure: the database side lives in src/db.
 */

export interface DiscordSettings {
  guildId: string;
  channelIds: string[];
  bots: Array<{ agent: string; token: string; applicationId?: string }>;
}

/** The settings as a request gives them (secrets included). */
export interface SettingsInput {
  discord?: DiscordSettings;
  missionControl?: { url: string; token: string };
  gitToken?: string;
}

/** The request as the steps see it, secrets included. */
export interface FleetRequest extends SettingsInput {
  repos: string[];
}

/** What goes in fleets.settings: everything but the secrets. */
export interface StoredSettings {
  discord?: { guildId: string; channelIds: string[]; bots: Array<{ agent: string; applicationId?: string }> };
  missionControl?: { url: string };
  gitTokenSet?: boolean;
}

/** Secret names in fleet_secrets. */
export const SECRET = {
  gatewayToken: 'gateway_token',
  missionControlToken: 'mission_control_token',
  gitToken: 'git_token',
  /** The fleet's SSH private key (OpenSSH format), for machines reached over SSH; the public half is derived. */
  sshPrivateKey: 'ssh_private_key',
  discordBotToken: (agent: string) => `discord_bot_token:${agent}`,
} as const;

/** Splits settings into what is stored in the clear and the secrets, by name. */
export function splitSettings(input: SettingsInput): { settings: StoredSettings; secrets: Record<string, string> } {
  const secrets: Record<string, string> = {};
  const settings: StoredSettings = {};
  if (input.discord) {
    settings.discord = {
      guildId: input.discord.guildId,
      channelIds: input.discord.channelIds,
      bots: input.discord.bots.map(({ agent, applicationId }) => ({ agent, ...(applicationId ? { applicationId } : {}) })),
    };
    for (const b of input.discord.bots) secrets[SECRET.discordBotToken(b.agent)] = b.token;
  }
  if (input.missionControl) {
    settings.missionControl = { url: input.missionControl.url };
    secrets[SECRET.missionControlToken] = input.missionControl.token;
  }
  if (input.gitToken) {
    settings.gitTokenSet = true;
    secrets[SECRET.gitToken] = input.gitToken;
  }
  return { settings, secrets };
}

/** The steps' view of a fleet's settings: stored settings joined with their decrypted secrets. */
export function joinSettings(repos: string[], stored: StoredSettings, secrets: Record<string, string>): FleetRequest {
  const req: FleetRequest = { repos };
  if (stored.discord) {
    req.discord = {
      guildId: stored.discord.guildId,
      channelIds: stored.discord.channelIds,
      bots: stored.discord.bots.map((b) => ({ ...b, token: secrets[SECRET.discordBotToken(b.agent)] ?? '' })),
    };
  }
  if (stored.missionControl) req.missionControl = { url: stored.missionControl.url, token: secrets[SECRET.missionControlToken] ?? '' };
  if (stored.gitTokenSet && secrets[SECRET.gitToken]) req.gitToken = secrets[SECRET.gitToken];
  return req;
}
