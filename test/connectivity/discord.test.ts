import { afterEach, describe, expect, it } from 'vitest';
import { checkDiscord, type CheckDiscordOptions } from '../../src/connectivity/discord.ts';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { startDiscordStandin, type DiscordStandinOptions, type DiscordStandin } from '../standins/discord-server.ts';
import { AGENTS, CHANNELS, FAST, GUILD, botIdOf, expectNoSecrets, failureOf, fleetBots, standinBots, tokenOf } from './helpers.ts';

const ALL_TOKENS = AGENTS.map(tokenOf);
let standin: DiscordStandin | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

async function start(overrides: Partial<DiscordStandinOptions> = {}): Promise<DiscordStandin> {
  standin = await startDiscordStandin({
    bots: standinBots(),
    guilds: { [GUILD]: { name: 'Acme HQ', members: AGENTS.map(botIdOf), channels: CHANNELS } },
    ...overrides,
  });
  return standin;
}

const check = (s: DiscordStandin, overrides: Partial<CheckDiscordOptions> = {}) =>
  checkDiscord({ baseUrl: s.url, bots: fleetBots(), guildId: GUILD, channelIds: CHANNELS, ...FAST, ...overrides });

describe('checkDiscord: happy path', () => {
  it('verifies every bot, the guild and every channel, and says so in one line', async () => {
    const s = await start();
    const result = await check(s);
    expect(result.summary).toBe(`Discord: 7 bots verified in guild ${GUILD} ("Acme HQ") (channels 5/5 visible)`);
    expect(result.bots).toContainEqual({ agentId: 'cantona', botUserId: botIdOf('cantona'), username: 'Cantona' });
    expect(result.bots).toHaveLength(7);
    // each bot checks its own access: @me + guild + 5 channels
    expect(s.requests).toHaveLength(7 * 7);
    expect(s.requests.every((r) => r.status === 200)).toBe(true);
    expectNoSecrets(result, ALL_TOKENS);
    expectNoSecrets(s.requests, ALL_TOKENS);
  });

  it('says what it did not check when no guild or channels are configured', async () => {
    const s = await start();
    const { summary } = await check(s, { guildId: undefined, channelIds: undefined, bots: fleetBots().slice(0, 1) });
    expect(summary).toBe('Discord: 1 bot verified; guild skipped: no guild configured; channels skipped: no channels configured');
  });

  it('checks each bot against its own channels when given', async () => {
    const s = await start();
    const bots = [
      { agentId: 'cantona', token: tokenOf('cantona'), channelIds: [CHANNELS[0]!] },
      { agentId: 'velma', token: tokenOf('velma'), channelIds: [CHANNELS[1]!, CHANNELS[2]!] },
    ];
    const { summary } = await check(s, { bots, channelIds: undefined });
    expect(summary).toContain('(channels 3/3 visible)');
    expect(s.requests.filter((r) => r.path.startsWith('/api/v10/channels/'))).toHaveLength(3);
  });

  it('reports skipped, without a request, when there are no bots', async () => {
    const s = await start();
    expect((await check(s, { bots: [] })).summary).toBe('skipped: no Discord bots configured');
    expect(s.requests).toHaveLength(0);
  });
});

describe('checkDiscord: terminal problems', () => {
  it('names the agent whose token is rejected, never the token', async () => {
    const s = await start();
    const bots = fleetBots().map((b) => (b.agentId === 'cantona' ? { ...b, token: `${b.token}-revoked` } : b));
    const e = await failureOf(() => check(s, { bots }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toBe(
      "Discord bot token for agent 'cantona' was rejected (401). Reset the token in the Discord developer portal (your application → Bot → Reset Token), save the new token for agent 'cantona' and provision again.",
    );
    expectNoSecrets(e, [...ALL_TOKENS, `${tokenOf('cantona')}-revoked`]);
  });

  it('refuses a malformed token before sending it anywhere', async () => {
    const s = await start();
    const bad = `${tokenOf('tank')}\n`;
    const e = await failureOf(() => check(s, { bots: [{ agentId: 'tank', token: bad }] }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain("agent 'tank' contains spaces or characters a token cannot have");
    expect(s.requests).toHaveLength(0);
    expectNoSecrets(e, [bad.trim()]);
  });

  it('refuses a guild or channel given by name instead of ID', async () => {
    const s = await start();
    const e = await failureOf(() => check(s, { channelIds: ['#general', CHANNELS[0]!] }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain("channel ID '#general', which is not a Discord ID");
    expect(s.requests).toHaveLength(0);
  });

  it('tells which bot to invite when the others see the guild (Unknown Guild, as Discord answers today)', async () => {
    const s = await start({
      guilds: { [GUILD]: { name: 'Acme HQ', members: AGENTS.filter((a) => a !== 'velma').map(botIdOf), channels: CHANNELS } },
    });
    const e = await failureOf(() => check(s));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toBe(
      `The Discord bot for agent 'velma' (Velma) is not in guild ${GUILD} ("Acme HQ"). Invite it with https://discord.com/oauth2/authorize?client_id=${botIdOf('velma')}&scope=bot&permissions=68608&guild_id=${GUILD}&disable_guild_select=true and provision again.`,
    );
  });

  it('words Missing Access (50001) on the guild the same way', async () => {
    const s = await start({
      nonMemberGuildError: 'missing-access',
      guilds: { [GUILD]: { name: 'Acme HQ', members: [botIdOf('cantona')], channels: CHANNELS } },
    });
    const e = await failureOf(() => check(s, { bots: fleetBots().slice(0, 2) }));
    expect(e.message).toContain(`The Discord bot for agent 'popashot' (Popashot) is not in guild ${GUILD}`);
    expect(s.requests.some((r) => r.status === 403)).toBe(true);
  });

  it('says the guild ID may be wrong when no bot sees it', async () => {
    const s = await start();
    const e = await failureOf(() => check(s, { guildId: '123456789012345678' }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain('Discord guild 123456789012345678 is not visible to any of the 7 bots');
    expect(e.message).toContain('either the server ID is wrong or the bots were never invited');
    expect(e.message).toContain(`'slash' https://discord.com/oauth2/authorize?client_id=${botIdOf('slash')}`);
    // no channel requests once the guild is not visible
    expect(s.requests.filter((r) => r.path.includes('/channels/'))).toHaveLength(0);
  });

  it('names an unknown channel once, however many bots saw it', async () => {
    const s = await start();
    const e = await failureOf(() => check(s, { channelIds: [...CHANNELS, '999999999999999999'] }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toBe(
      'Discord channel 999999999999999999 does not exist (Unknown Channel). Check the channel ID (right-click the channel → Copy Channel ID, with Developer Mode on) and provision again.',
    );
  });

  it('names the bot that cannot see a channel', async () => {
    const s = await start({
      guilds: {
        [GUILD]: {
          name: 'Acme HQ',
          members: AGENTS.map(botIdOf),
          channels: CHANNELS,
          hiddenFrom: { [CHANNELS[3]!]: [botIdOf('zerocool')] },
        },
      },
    });
    const e = await failureOf(() => check(s));
    expect(e.message).toBe(
      `The Discord bot for agent 'zerocool' (Zerocool) cannot see channel ${CHANNELS[3]} (Missing Access). In the server, open the channel's settings → Permissions and allow the bot View Channel and Read Message History, then provision again.`,
    );
  });

  it('names every bot that cannot see a channel in one line', async () => {
    const s = await start({
      guilds: {
        [GUILD]: {
          name: 'Acme HQ',
          members: AGENTS.map(botIdOf),
          channels: CHANNELS,
          hiddenFrom: { [CHANNELS[4]!]: [botIdOf('tank'), botIdOf('slash')] },
        },
      },
    });
    const e = await failureOf(() => check(s));
    expect(e.message).toMatch(
      new RegExp(
        `^The Discord bots for agents 'tank' \\(Tank\\), 'slash' \\(Slash\\) cannot see channel ${CHANNELS[4]} \\(Missing Access\\)\\. .* allow these bots View Channel`,
      ),
    );
  });

  it('refuses a channel of another guild', async () => {
    const s = await start({
      guilds: {
        [GUILD]: { name: 'Acme HQ', members: AGENTS.map(botIdOf), channels: CHANNELS },
        '777000000000000000': { name: 'Other', members: AGENTS.map(botIdOf), channels: ['777000000000000001'] },
      },
    });
    const e = await failureOf(() => check(s, { channelIds: ['777000000000000001'] }));
    expect(e.message).toBe(
      `Discord channel 777000000000000001 belongs to guild 777000000000000000, not to guild ${GUILD}. Replace it with a channel of guild ${GUILD} and provision again.`,
    );
  });

  it('lists every problem at once', async () => {
    const s = await start({
      guilds: {
        [GUILD]: { name: 'Acme HQ', members: AGENTS.map(botIdOf), channels: CHANNELS, hiddenFrom: { [CHANNELS[0]!]: [botIdOf('tank')] } },
      },
    });
    const bots = fleetBots().map((b) => (b.agentId === 'slash' ? { ...b, token: 'not-a-real-token' } : b));
    const e = await failureOf(() => check(s, { bots }));
    expect(e.message).toMatch(
      /^Discord check found 2 problems: \(1\) Discord bot token for agent 'slash' was rejected .* \(2\) The Discord bot for agent 'tank' \(Tank\) cannot see/,
    );
    expectNoSecrets(e, [...ALL_TOKENS, 'not-a-real-token']);
  });

  it('refuses two agents sharing one bot', async () => {
    const s = await start();
    const bots = [
      { agentId: 'cantona', token: tokenOf('cantona') },
      { agentId: 'velma', token: tokenOf('cantona') },
    ];
    const e = await failureOf(() => check(s, { bots }));
    expect(e.message).toContain("Agents 'cantona' and 'velma' use the same Discord bot (Cantona)");
  });
});

describe('checkDiscord: transient problems', () => {
  it('waits out a 429 (retry_after) and succeeds', async () => {
    const s = await start({ rateLimitOnce: { retryAfterSec: 0.08 } });
    const started = Date.now();
    const result = await check(s, { bots: fleetBots().slice(0, 1) });
    expect(result.summary).toContain('1 bot verified');
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(s.requests.map((r) => r.status)).toEqual([429, 200, 200, 200, 200, 200, 200, 200]);
  });

  it('gives up on 429 after maxRetries with a TransientError that carries the wait', async () => {
    const s = await start();
    s.failNext(429, { times: 100, retryAfterSec: 0.01 });
    const e = await failureOf(() => check(s, { bots: fleetBots().slice(0, 1), maxRetries: 2 }));
    expect(e).toBeInstanceOf(TransientError);
    expect((e as TransientError).retryAfterMs).toBe(10);
    expect(e.message).toContain("Discord GET /users/@me for agent 'popashot' was rate limited (429); the server asks to wait");
    expect(s.requests).toHaveLength(3);
  });

  it('does not sleep through a long rate limit: it hands the wait to the executor', async () => {
    const s = await start();
    s.failNext(429, { retryAfterSec: 60 });
    const e = await failureOf(() => check(s, { bots: fleetBots().slice(0, 1) }));
    expect(e).toBeInstanceOf(TransientError);
    expect((e as TransientError).retryAfterMs).toBe(60_000);
    expect(s.requests).toHaveLength(1);
  });

  it('retries a 500 and a dropped connection, then succeeds', async () => {
    const s = await start();
    s.failNext(500, { pathPrefix: '/api/v10/guilds/' });
    s.failNext('drop', { pathPrefix: '/api/v10/channels/' });
    const result = await check(s, { bots: fleetBots().slice(0, 1) });
    expect(result.summary).toContain('(channels 5/5 visible)');
    expect(s.requests.map((r) => r.status)).toEqual([200, 500, 200, 0, 200, 200, 200, 200, 200]);
  });

  it('turns lasting 5xx into a TransientError', async () => {
    const s = await start();
    s.failNext(503, { times: 10 });
    const e = await failureOf(() => check(s, { bots: fleetBots().slice(0, 1), maxRetries: 1 }));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toBe(
      `Discord GET /users/@me for agent 'popashot' failed: the server answered 503: "503: Service Unavailable" (code 0).`,
    );
  });

  it('turns a timeout into a TransientError', async () => {
    const s = await start({ latencyMs: 300 });
    const e = await failureOf(() => check(s, { bots: fleetBots().slice(0, 1), timeoutMs: 50, maxRetries: 1 }));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toContain("'popashot' failed: no answer within 50 ms");
    expectNoSecrets(e, ALL_TOKENS);
  });

  it('lets terminal problems win over transient ones, and says some checks did not finish', async () => {
    const s = await start();
    s.failNext(503, { times: 10, pathPrefix: '/api/v10/guilds/' });
    const bots = [
      { agentId: 'cantona', token: 'revoked-token' },
      { agentId: 'velma', token: tokenOf('velma') },
    ];
    const e = await failureOf(() => check(s, { bots, maxRetries: 1 }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain("agent 'cantona' was rejected (401)");
    expect(e.message).toContain('(1 other bot check(s) got no usable answer from Discord; they run again on retry.)');
  });
});
