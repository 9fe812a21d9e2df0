/**
 * Checks that every agent's Discord bot token works and that each bot can see the guild and the
 * channels it is bound to. Each bot is checked on its own (its token, its membership, its channel
 * permissions differ), bots in parallel since Discord rate-limits per bot. Every problem found is
 * collected, so one TerminalError lists all of them and the user fixes everything in one go.
 *
 * Discord has answered `GET /guilds/{id}` for a guild the bot is not in with 404 "Unknown Guild"
 * (10004) since 2023, not 403 "Missing Access" (50001) (discord/discord-api-docs#5840), so one
 * answer means "wrong ID" or "not invited". We tell them apart with the other bots: if any bot sees
 * the guild, the ID is right and the others need an invite.
 */
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { DEFAULT_POLICY, detail, getWithRetry, isHeaderSafeToken, isRecord, redact, type FetchLike, type Reply } from './http.ts';

export const DISCORD_API_BASE = 'https://discord.com/api/v10';
// Discord asks API clients to identify as `DiscordBot ($url, $version)`.
const USER_AGENT = 'DiscordBot (agent-fleet connectivity check, 0.1.0)';
// View Channels + Send Messages + Read Message History: what an agent needs in its channels.
const INVITE_PERMISSIONS = 1024 + 2048 + 65536;
const SNOWFLAKE = /^\d{1,20}$/;

export interface DiscordBotConfig {
  agentId: string;
  token: string;
  /** Channels this bot is bound to; defaults to the check's `channelIds`. */
  channelIds?: string[];
}

export interface CheckDiscordOptions {
  /** Default https://discord.com/api/v10; tests point it at the stand-in. */
  baseUrl?: string;
  bots: DiscordBotConfig[];
  guildId?: string;
  channelIds?: string[];
  fetchImpl?: FetchLike;
  /** Per request attempt; default 10 s. */
  timeoutMs?: number;
  /** Retries per request for 429, 5xx, timeouts and network errors; default 3. */
  maxRetries?: number;
  /** First backoff delay; default 500 ms. */
  backoffBaseMs?: number;
  signal?: AbortSignal;
}

export interface VerifiedBot {
  agentId: string;
  botUserId: string;
  username: string;
}

export interface DiscordCheckResult {
  /** One line for the provision log. */
  summary: string;
  bots: VerifiedBot[];
}

interface BotReport {
  agentId: string;
  user?: { id: string; username: string };
  guild: 'seen' | 'not-seen' | 'not-checked';
  guildName?: string;
  visibleChannels: string[];
  /** Channels that answered Missing Access (50001) to this bot. */
  hiddenChannels: string[];
  problems: string[];
}

/** Verifies every bot; resolves only if all of them work, else TerminalError or TransientError. */
export async function checkDiscord(opts: CheckDiscordOptions): Promise<DiscordCheckResult> {
  if (opts.bots.length === 0) return { summary: 'skipped: no Discord bots configured', bots: [] };
  const { guildId } = opts;
  const channelsOf = (b: DiscordBotConfig) => b.channelIds ?? opts.channelIds ?? [];
  const idProblems = [
    ...(guildId !== undefined && !SNOWFLAKE.test(guildId) ? [`guild ID '${guildId}'`] : []),
    ...[...new Set(opts.bots.flatMap(channelsOf))].filter((c) => !SNOWFLAKE.test(c)).map((c) => `channel ID '${c}'`),
  ];
  const secrets = opts.bots.map((b) => b.token); // a token pasted into an ID field is still a token
  if (idProblems.length > 0) {
    throw new TerminalError(
      redact(
        `Discord settings have ${idProblems.join(', ')}, which ${idProblems.length === 1 ? 'is' : 'are'} not a Discord ID (IDs are numbers). Enable Developer Mode in Discord (Settings → Advanced), right-click the server or channel, choose Copy ID, and provision again.`,
        secrets,
      ),
    );
  }

  const base = (opts.baseUrl ?? DISCORD_API_BASE).replace(/\/+$/, '');
  const policy = {
    ...DEFAULT_POLICY,
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
    ...(opts.maxRetries !== undefined && { maxRetries: opts.maxRetries }),
    ...(opts.backoffBaseMs !== undefined && { backoffBaseMs: opts.backoffBaseMs }),
  };
  const get = (bot: DiscordBotConfig, path: string): Promise<Reply> =>
    getWithRetry({
      url: base + path,
      headers: { Authorization: `Bot ${bot.token}`, 'User-Agent': USER_AGENT },
      what: `Discord GET ${path} for agent '${bot.agentId}'`,
      secrets,
      quoteBodies: true, // Discord's API, chosen by the operator: its error texts help
      fetchImpl: opts.fetchImpl ?? fetch,
      policy,
      signal: opts.signal,
    });

  const settled = await Promise.allSettled(opts.bots.map((b) => checkBot(b, channelsOf(b), guildId, base, get)));
  const reports: BotReport[] = [];
  const transients: TransientError[] = [];
  const fromHttp: string[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') reports.push(s.value);
    else if (s.reason instanceof TransientError) transients.push(s.reason);
    else if (s.reason instanceof TerminalError)
      fromHttp.push(s.reason.message); // e.g. a refused certificate
    else throw s.reason; // cancelled, or a bug: not ours to reword
  }

  const problems = [
    ...new Set([
      ...fromHttp,
      ...reports.flatMap((r) => r.problems),
      ...guildProblems(reports, guildId),
      ...hiddenChannelProblems(reports, guildId),
      ...duplicateBots(reports),
    ]),
  ];
  if (problems.length > 0) {
    const unfinished =
      transients.length > 0 ? ` (${transients.length} other bot check(s) got no usable answer from Discord; they run again on retry.)` : '';
    const text =
      problems.length === 1
        ? problems[0]!
        : `Discord check found ${problems.length} problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join(' ')}`;
    throw new TerminalError(redact(text + unfinished, secrets));
  }
  if (transients.length > 0) {
    // The longest wait wins: retrying sooner would only hit the same rate limit again.
    throw transients.reduce((a, b) => ((b.retryAfterMs ?? 0) > (a.retryAfterMs ?? 0) ? b : a));
  }

  const allChannels = new Set(opts.bots.flatMap(channelsOf));
  const visible = new Set(reports.flatMap((r) => r.visibleChannels));
  const guildName = reports.find((r) => r.guildName !== undefined)?.guildName;
  const bots = reports.map((r) => ({ agentId: r.agentId, botUserId: r.user!.id, username: r.user!.username }));
  let summary = `Discord: ${bots.length} bot${bots.length === 1 ? '' : 's'} verified`;
  summary += guildId ? ` in guild ${guildId}${guildName ? ` ("${guildName}")` : ''}` : '; guild skipped: no guild configured';
  summary +=
    allChannels.size > 0 ? ` (channels ${visible.size}/${allChannels.size} visible)` : '; channels skipped: no channels configured';
  return { summary: redact(summary, secrets), bots };
}

async function checkBot(
  bot: DiscordBotConfig,
  channelIds: string[],
  guildId: string | undefined,
  base: string,
  get: (bot: DiscordBotConfig, path: string) => Promise<Reply>,
): Promise<BotReport> {
  const report: BotReport = { agentId: bot.agentId, guild: 'not-checked', visibleChannels: [], hiddenChannels: [], problems: [] };
  const agent = `agent '${bot.agentId}'`;
  const rejected = () =>
    `Discord bot token for ${agent} was rejected (401). Reset the token in the Discord developer portal (your application → Bot → Reset Token), save the new token for ${agent} and provision again.`;
  const unexpected = (r: Reply, path: string) =>
    `Discord answered ${r.status} to GET ${path} for ${agent}${detail(r)}, which the check does not expect. Check the Discord API base URL (${base}) and provision again.`;

  if (bot.token.length === 0) {
    report.problems.push(
      `No Discord bot token is set for ${agent}. Add the bot's token (Discord developer portal → your application → Bot) and provision again.`,
    );
    return report;
  }
  if (!isHeaderSafeToken(bot.token)) {
    report.problems.push(
      `The Discord bot token for ${agent} contains spaces or characters a token cannot have. Paste only the token itself (no "Bot " prefix, quotes or line breaks) and provision again.`,
    );
    return report;
  }

  const me = await get(bot, '/users/@me');
  if (me.status === 401) return { ...report, problems: [rejected()] };
  if (me.status !== 200 || !isRecord(me.body) || typeof me.body.id !== 'string') {
    return { ...report, problems: [unexpected(me, '/users/@me')] };
  }
  const user = { id: me.body.id, username: typeof me.body.username === 'string' ? me.body.username : me.body.id };
  report.user = user;

  if (guildId !== undefined) {
    const path = `/guilds/${guildId}`;
    const g = await get(bot, path);
    if (g.status === 200) {
      report.guild = 'seen';
      if (isRecord(g.body) && typeof g.body.name === 'string') report.guildName = g.body.name;
    } else if (g.status === 401) {
      return { ...report, problems: [rejected()] };
    } else if (discordCode(g) === 10004 || discordCode(g) === 50001) {
      report.guild = 'not-seen'; // worded later, once all bots have answered
      return report; // its channel checks would all fail the same way
    } else {
      return { ...report, problems: [unexpected(g, path)] };
    }
  }

  for (const channelId of channelIds) {
    const path = `/channels/${channelId}`;
    const c = await get(bot, path);
    const code = discordCode(c);
    if (c.status === 200) {
      const inGuild = isRecord(c.body) ? c.body.guild_id : undefined;
      if (guildId !== undefined && inGuild !== guildId) {
        // worded without the agent: the same for every bot, so it is listed once
        report.problems.push(
          `Discord channel ${channelId} belongs to ${typeof inGuild === 'string' ? `guild ${inGuild}` : 'no guild (a DM or group)'}, not to guild ${guildId}. Replace it with a channel of guild ${guildId} and provision again.`,
        );
      } else {
        report.visibleChannels.push(channelId);
      }
    } else if (c.status === 401) {
      return { ...report, problems: [rejected()] };
    } else if (code === 50001) {
      report.hiddenChannels.push(channelId); // worded later, one line per channel for all bots
    } else if (code === 10003 || c.status === 404) {
      report.problems.push(
        `Discord channel ${channelId} does not exist (Unknown Channel). Check the channel ID (right-click the channel → Copy Channel ID, with Developer Mode on) and provision again.`,
      );
    } else {
      report.problems.push(unexpected(c, path));
    }
  }
  return report;
}

/** Words the guild failures once every bot has answered (see the file comment). */
function guildProblems(reports: BotReport[], guildId: string | undefined): string[] {
  const missing = reports.filter((r) => r.guild === 'not-seen');
  if (guildId === undefined || missing.length === 0) return [];
  const seen = reports.find((r) => r.guild === 'seen');
  if (seen) {
    const label = `guild ${guildId}${seen.guildName ? ` ("${seen.guildName}")` : ''}`;
    return missing.map(
      (r) =>
        `The Discord bot for agent '${r.agentId}' (${r.user!.username}) is not in ${label}. Invite it with ${inviteUrl(r.user!.id, guildId)} and provision again.`,
    );
  }
  const who = missing.length === 1 ? `the bot for agent '${missing[0]!.agentId}'` : `any of the ${missing.length} bots`;
  const invites = missing.map((r) => `'${r.agentId}' ${inviteUrl(r.user!.id, guildId)}`).join(', ');
  return [
    `Discord guild ${guildId} is not visible to ${who}: either the server ID is wrong or the bot${missing.length === 1 ? ' was' : 's were'} never invited (Discord answers "Unknown Guild" for both). Check the server ID (Developer Mode on, right-click the server → Copy Server ID), invite ${missing.length === 1 ? 'it' : 'each bot'}: ${invites}, then provision again.`,
  ];
}

/** One line per channel naming every bot that cannot see it: one permission fix often covers them all. */
function hiddenChannelProblems(reports: BotReport[], guildId: string | undefined): string[] {
  const byChannel = new Map<string, BotReport[]>();
  for (const r of reports) for (const c of r.hiddenChannels) byChannel.set(c, [...(byChannel.get(c) ?? []), r]);
  return [...byChannel].map(([channelId, rs]) => {
    const bots = rs.map((r) => `'${r.agentId}' (${r.user!.username})`).join(', ');
    const who = rs.length === 1 ? `The Discord bot for agent ${bots}` : `The Discord bots for agents ${bots}`;
    const fix = guildId
      ? `In the server, open the channel's settings → Permissions and allow ${rs.length === 1 ? 'the bot' : 'these bots'} View Channel and Read Message History`
      : `Invite ${rs.length === 1 ? 'the bot' : 'these bots'} to that channel's server and allow View Channel`;
    return `${who} cannot see channel ${channelId} (Missing Access). ${fix}, then provision again.`;
  });
}

/** Two agents on one bot would both answer every message; each agent needs its own application. */
function duplicateBots(reports: BotReport[]): string[] {
  const byUser = new Map<string, BotReport[]>();
  for (const r of reports) if (r.user) byUser.set(r.user.id, [...(byUser.get(r.user.id) ?? []), r]);
  return [...byUser.values()]
    .filter((rs) => rs.length > 1)
    .map(
      (rs) =>
        `Agents ${rs.map((r) => `'${r.agentId}'`).join(' and ')} use the same Discord bot (${rs[0]!.user!.username}). Each agent needs its own bot: create another application with a bot in the Discord developer portal, use its token for all but one of them, and provision again.`,
    );
}

// A bot's application ID is its user ID, which is what the OAuth2 invite needs.
function inviteUrl(botUserId: string, guildId: string): string {
  return `https://discord.com/oauth2/authorize?client_id=${botUserId}&scope=bot&permissions=${INVITE_PERMISSIONS}&guild_id=${guildId}&disable_guild_select=true`;
}

function discordCode(r: Reply): number | undefined {
  return isRecord(r.body) && typeof r.body.code === 'number' ? r.body.code : undefined;
}
