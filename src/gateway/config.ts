/**
 * openclaw.json for one fleet's gateway, as a pure function of the fleet's settings. OpenClaw
 * validates its config strictly (an unknown key anywhere refuses to start), so this renders only
 * keys checked against the pinned version with `openclaw config validate` (test/gateway/
 * openclaw.real.test.ts). Secrets (gateway token, bot tokens) end up in the object: write it with
 * writeFileAtomic (mode 0600) and never log it.
 */
import { join } from 'node:path';

export interface GatewayAgentInput {
  /** Stable agent id; also the Discord account id of the agent's bot. */
  id: string;
  name: string;
  /** The agent's role ("orchestrator", "engineer", …). Not an OpenClaw key: the persona lives in the
   * workspace files; here it only picks the system agent (see below). */
  role: string;
  /** Absolute path of the agent's workspace (AGENTS.md, SOUL.md, …). The gateway does not create it. */
  workspace: string;
  /** Absolute path of the agent's private state (sessions database, auth profiles). */
  agentDir: string;
}

export interface DiscordAccountInput {
  agentId: string;
  token: string;
  applicationId?: string;
}

export interface DiscordInput {
  guildId: string;
  channelIds: string[];
  /** One bot per agent; agents without an account are not reachable from Discord. */
  accounts: DiscordAccountInput[];
}

export interface OpenclawConfigInput {
  port: number;
  token: string;
  /**
   * `loopback` (default): only the machine itself reaches the gateway (the local driver, where
   * every fleet shares the host). `lan`: every interface, for a VM of its own whose Control UI
   * users open at its external IP, behind the token and the firewall rule on the VM's tags.
   */
  bind?: 'loopback' | 'lan';
  /** When given, the gateway's log file goes to `<stateDir>/logs/openclaw.log` instead of the
   * host-wide default `/tmp/openclaw/openclaw-<date>.log` shared by every gateway on the machine. */
  stateDir?: string;
  agents: GatewayAgentInput[];
  discord?: DiscordInput;
  /** The agent that owns heartbeats and agent-less requests. Default: the agent whose role is
   * "orchestrator", else the first agent. */
  systemAgentId?: string;
  /** Also stop the hourly fetch of the hosted model catalog (catalog.openclaw.ai). For tests and
   * air-gapped hosts; a production gateway wants fresh model metadata. Default false. */
  offline?: boolean;
}

export type OpenclawConfig = Record<string, unknown>;

/** The Discord plugin's id in `plugins.entries` and the channel id in `channels`/bindings. */
export const DISCORD_PLUGIN_ID = 'discord';

/** Renders openclaw.json. Throws an Error naming the bad field when the input is inconsistent. */
export function renderOpenclawConfig(input: OpenclawConfigInput): OpenclawConfig {
  checkInput(input);
  const config: OpenclawConfig = {
    gateway: {
      // `mode: "local"` is what lets `gateway run` start at all; loopback + token keeps it
      // reachable only from this host, and only with the fleet's token.
      mode: 'local',
      port: input.port,
      bind: input.bind ?? 'loopback',
      auth: { mode: 'token', token: input.token },
    },
    // We pin versions; an update check would only phone home and print notices.
    update: { checkOnStart: false },
    // Anonymous feature statistics are off by default; say so explicitly for every tenant.
    telemetry: { enabled: false },
    agents: renderAgents(input),
  };
  if (input.offline) config.models = { catalogRefresh: { enabled: false } };
  if (input.stateDir !== undefined) config.logging = { file: join(input.stateDir, 'logs', 'openclaw.log') };
  if (input.discord !== undefined && input.discord.accounts.length > 0) {
    config.channels = { discord: renderDiscord(input.discord) };
    // The channel only starts when the plugin is enabled explicitly; the plugin itself must be
    // installed into the state dir with `openclaw plugins install` (see plugins.ts).
    config.plugins = { entries: { [DISCORD_PLUGIN_ID]: { enabled: true } } };
    config.bindings = renderBindings(input.discord);
  }
  return config;
}

function renderAgents(input: OpenclawConfigInput): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  for (const agent of input.agents) {
    entries[agent.id] = { name: agent.name, workspace: agent.workspace, agentDir: agent.agentDir };
  }
  const systemAgentId =
    input.systemAgentId ?? input.agents.find((agent) => agent.role.toLowerCase() === 'orchestrator')?.id ?? input.agents[0]!.id;
  return {
    // Required by 2026.9.6 for more than one agent ("multi-agent rosters require
    // agents.ownership=explicit"); harmless for one. Without a system agent, heartbeats of a
    // multi-agent roster stay disabled and validation warns.
    ownership: 'explicit',
    defaults: { systemAgent: { agentId: systemAgentId } },
    entries,
  };
}

function renderDiscord(discord: DiscordInput): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  for (const channelId of discord.channelIds) channels[channelId] = { enabled: true };
  const accounts: Record<string, unknown> = {};
  for (const account of discord.accounts) {
    accounts[account.agentId] = {
      token: account.token,
      ...(account.applicationId ? { applicationId: account.applicationId } : {}),
      // A guild with a `channels` map is an allowlist: the bot ignores every other channel.
      guilds: { [discord.guildId]: { channels } },
    };
  }
  // `allowlist` is OpenClaw's default once channels.discord exists; explicit so a changed default
  // cannot open a bot to every server it is invited to.
  return { groupPolicy: 'allowlist', accounts };
}

/** One route per (agent, channel): messages to an agent's bot in a fleet channel go to that agent. */
function renderBindings(discord: DiscordInput): unknown[] {
  return discord.accounts.flatMap((account) =>
    discord.channelIds.map((channelId) => ({
      agentId: account.agentId,
      match: {
        channel: DISCORD_PLUGIN_ID,
        accountId: account.agentId,
        guildId: discord.guildId,
        peer: { kind: 'channel', id: channelId },
      },
    })),
  );
}

// Discord ids are snowflakes: decimal strings of 17–20 digits.
const SNOWFLAKE = /^\d{17,20}$/;
// OpenClaw agent ids end up in paths and session keys; keep them boring.
const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function checkInput(input: OpenclawConfigInput): void {
  const fail = (field: string, problem: string) => {
    throw new Error(`openclaw config: ${field} ${problem}`);
  };
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) fail('port', `must be 1–65535, got ${input.port}`);
  if (input.token.length < 16) fail('token', 'must be at least 16 characters');
  if (input.agents.length === 0) fail('agents', 'must not be empty');
  const ids = new Set<string>();
  for (const [i, agent] of input.agents.entries()) {
    if (!AGENT_ID.test(agent.id)) fail(`agents[${i}].id`, `must match ${AGENT_ID}, got "${agent.id}"`);
    if (ids.has(agent.id)) fail(`agents[${i}].id`, `"${agent.id}" is used twice`);
    ids.add(agent.id);
    if (!agent.workspace.startsWith('/')) fail(`agents[${i}].workspace`, 'must be an absolute path');
    if (!agent.agentDir.startsWith('/')) fail(`agents[${i}].agentDir`, 'must be an absolute path');
  }
  if (input.systemAgentId !== undefined && !ids.has(input.systemAgentId)) fail('systemAgentId', `"${input.systemAgentId}" is not an agent`);
  const discord = input.discord;
  if (discord === undefined) return;
  if (!SNOWFLAKE.test(discord.guildId)) fail('discord.guildId', 'must be a Discord id (17–20 digits)');
  if (discord.channelIds.length === 0) fail('discord.channelIds', 'must not be empty');
  for (const [i, id] of discord.channelIds.entries()) {
    if (!SNOWFLAKE.test(id)) fail(`discord.channelIds[${i}]`, 'must be a Discord id (17–20 digits)');
  }
  const seen = new Set<string>();
  for (const [i, account] of discord.accounts.entries()) {
    if (!ids.has(account.agentId)) fail(`discord.accounts[${i}].agentId`, `"${account.agentId}" is not an agent`);
    if (seen.has(account.agentId)) fail(`discord.accounts[${i}].agentId`, `"${account.agentId}" has two accounts`);
    seen.add(account.agentId);
    if (account.token.trim() === '') fail(`discord.accounts[${i}].token`, 'must not be empty');
    if (account.applicationId !== undefined && !SNOWFLAKE.test(account.applicationId)) {
      fail(`discord.accounts[${i}].applicationId`, 'must be a Discord id (17–20 digits)');
    }
  }
}
