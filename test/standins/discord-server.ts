/**
 * A Discord REST v10 stand-in: the three read endpoints the connectivity check uses, answered with
 * Discord's status codes, error bodies (`{"message": "...", "code": N}`) and rate-limit headers.
 * For unit tests, the pipeline's end-to-end tests and the zero-latency benchmark.
 *
 *   const discord = await startDiscordStandin({
 *     bots: { 'token-cantona': { id: '1001', username: 'Cantona' } },       // token → bot user
 *     guilds: { '900': { name: 'Acme', members: ['1001'], channels: ['901', '902'] } },
 *   });
 *   await checkDiscord({ baseUrl: discord.url, bots: [{ agentId: 'cantona', token: 'token-cantona' }], guildId: '900' });
 *   discord.requests;  // [{ method: 'GET', path: '/api/v10/users/@me', caller: '1001', status: 200 }, …]
 *   discord.failNext(429, { pathPrefix: '/api/v10/guilds/', times: 2 }); // also 500, 503, 'drop', …
 *   discord.setLatencyMs(200);
 *   await discord.close();
 *
 * Behaviour, as Discord does it:
 * - `Authorization: Bot <token>` with an unknown token (or none) → 401 `{"message":"401: Unauthorized","code":0}`.
 * - `GET /users/@me` → the bot user.
 * - `GET /guilds/{id}` → the guild if the bot is a member; otherwise 404 Unknown Guild (10004), which
 *   is what Discord answers since 2023 both for a missing guild and for one the bot is not in
 *   (`nonMemberGuildError: 'missing-access'` gives the older 403 Missing Access, 50001).
 * - `GET /channels/{id}` → the channel (with `guild_id`); 403 Missing Access (50001) if the bot is not
 *   in its guild or the channel is in `hiddenFrom` for that bot; 404 Unknown Channel (10003) if no
 *   guild has it.
 * - A non-numeric id → 400 Invalid Form Body (50035); other paths → 404 `404: Not Found`; other
 *   methods → 405.
 * - Injected 429s carry `retry_after` (seconds, JSON), `Retry-After` and `X-RateLimit-*` headers.
 */
import type { IncomingMessage } from 'node:http';
import {
  startStandin,
  type FaultOptions,
  type FaultStatus,
  type QueuedFault,
  type RecordedRequest,
  type StandinReply,
} from './http-standin.ts';

export type { FaultOptions, FaultStatus, RecordedRequest };

export interface StandinBot {
  id: string;
  username: string;
}

export interface StandinGuild {
  name: string;
  /** Bot user ids in the guild. */
  members: string[];
  /** Channel ids in the guild. */
  channels: string[];
  /** channel id → bot ids that lack View Channel there. */
  hiddenFrom?: Record<string, string[]>;
}

export interface DiscordStandinOptions {
  /** token → bot user. */
  bots: Record<string, StandinBot>;
  /** guild id → guild. */
  guilds: Record<string, StandinGuild>;
  /** The very first request answers 429 (retry_after 0.05 s unless given). */
  rateLimitOnce?: boolean | { retryAfterSec: number };
  /** See the file comment; default 'unknown-guild' (Discord today). */
  nonMemberGuildError?: 'unknown-guild' | 'missing-access';
  latencyMs?: number;
}

export interface DiscordStandin {
  /** Base URL including `/api/v10`, to pass as `baseUrl`. */
  url: string;
  /** Every request, oldest first: method, path, the bot id its token belongs to, status. */
  requests: RecordedRequest[];
  setLatencyMs(ms: number): void;
  /** Answers the next matching request(s) with `status` (Discord's body for it) or drops the connection. */
  failNext(status: FaultStatus, opts?: FaultOptions): void;
  close(): Promise<void>;
}

const API = '/api/v10';
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const err = (status: number, message: string, code: number): StandinReply => ({ status, body: { message, code } });
const plain = (status: number): StandinReply => err(status, `${status}: ${REASONS[status] ?? 'Error'}`, 0);

/** Discord's 429: JSON `retry_after` in fractional seconds, `Retry-After` rounded up to whole seconds. */
function rateLimited(retryAfterSec: number): StandinReply {
  return {
    status: 429,
    body: { message: 'You are being rate limited.', retry_after: retryAfterSec, global: false },
    headers: {
      'retry-after': String(Math.ceil(retryAfterSec)),
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset-after': retryAfterSec.toFixed(3),
      'x-ratelimit-bucket': 'standin',
      'x-ratelimit-scope': 'user',
    },
  };
}

export async function startDiscordStandin(opts: DiscordStandinOptions): Promise<DiscordStandin> {
  const channelGuild = new Map<string, string>();
  for (const [guildId, g] of Object.entries(opts.guilds)) for (const c of g.channels) channelGuild.set(c, guildId);

  const identify = (req: IncomingMessage): string | null => {
    const m = /^Bot (.+)$/.exec(req.headers.authorization ?? '');
    return m ? (opts.bots[m[1]!]?.id ?? null) : null;
  };

  const answer = (req: IncomingMessage, path: string, botId: string | null): StandinReply => {
    const route = /^\/api\/v10\/(?:(users)\/@me|(guilds|channels)\/([^/]+))$/.exec(path);
    if (!route) return plain(404);
    if (req.method !== 'GET') return plain(405);
    if (botId === null) return plain(401);
    const bot = Object.values(opts.bots).find((b) => b.id === botId)!;
    if (route[1] === 'users') {
      return {
        status: 200,
        body: { id: bot.id, username: bot.username, global_name: null, discriminator: '0000', avatar: null, bot: true, flags: 0 },
      };
    }
    const [kind, id] = [route[2]!, decodeURIComponent(route[3]!)];
    if (!/^\d+$/.test(id)) {
      const field = kind === 'guilds' ? 'guild_id' : 'channel_id';
      return {
        status: 400,
        body: {
          message: 'Invalid Form Body',
          code: 50035,
          errors: { [field]: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: `Value "${id}" is not snowflake.` }] } },
        },
      };
    }
    if (kind === 'guilds') {
      const guild = opts.guilds[id];
      if (!guild) return err(404, 'Unknown Guild', 10004);
      if (!guild.members.includes(botId)) {
        return opts.nonMemberGuildError === 'missing-access' ? err(403, 'Missing Access', 50001) : err(404, 'Unknown Guild', 10004);
      }
      return { status: 200, body: { id, name: guild.name, icon: null, owner_id: '1', features: [], verification_level: 0, roles: [] } };
    }
    const guildId = channelGuild.get(id);
    if (guildId === undefined) return err(404, 'Unknown Channel', 10003);
    const guild = opts.guilds[guildId]!;
    if (!guild.members.includes(botId) || guild.hiddenFrom?.[id]?.includes(botId)) return err(403, 'Missing Access', 50001);
    return {
      status: 200,
      body: {
        id,
        type: 0,
        guild_id: guildId,
        name: `channel-${id}`,
        position: guild.channels.indexOf(id),
        permission_overwrites: [],
        nsfw: false,
        parent_id: null,
      },
    };
  };

  const fault = (f: QueuedFault): StandinReply => (f.status === 429 ? rateLimited(f.retryAfterSec ?? 0.05) : plain(f.status as number));

  const server = await startStandin({ identify, answer, fault }, opts.latencyMs ?? 0);
  if (opts.rateLimitOnce) {
    server.failNext(429, { retryAfterSec: opts.rateLimitOnce === true ? 0.05 : opts.rateLimitOnce.retryAfterSec });
  }
  return {
    url: `${server.origin}${API}`,
    requests: server.requests,
    setLatencyMs: server.setLatencyMs,
    failNext: server.failNext,
    close: server.close,
  };
}
