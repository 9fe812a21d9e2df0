import { afterEach, describe, expect, it } from 'vitest';
import { checkConnectivity } from '../../src/connectivity/check.ts';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { startDiscordStandin, type DiscordStandin } from '../standins/discord-server.ts';
import { startMissionControlStandin, type MissionControlStandin } from '../standins/mission-control-server.ts';
import {
  AGENTS,
  CHANNELS,
  FAST,
  GUILD,
  LOOPBACK_OUTBOUND,
  botIdOf,
  expectNoSecrets,
  failureOf,
  fleetBots,
  standinBots,
  tokenOf,
} from './helpers.ts';

const MC_TOKEN = 'mc_live_0a1b2c3d4e5f6a7b';
let discord: DiscordStandin | undefined;
let mc: MissionControlStandin | undefined;
afterEach(async () => {
  await discord?.close();
  await mc?.close();
  discord = mc = undefined;
});

async function startBoth() {
  const d = await startDiscordStandin({
    bots: standinBots(),
    guilds: { [GUILD]: { name: 'Acme HQ', members: AGENTS.map(botIdOf), channels: CHANNELS } },
  });
  const m = await startMissionControlStandin({ token: MC_TOKEN });
  [discord, mc] = [d, m];
  return {
    d,
    m,
    discord: { baseUrl: d.url, bots: fleetBots(), guildId: GUILD, channelIds: CHANNELS, ...FAST },
    missionControl: { url: m.url, token: MC_TOKEN, outbound: LOOPBACK_OUTBOUND, ...FAST },
  };
}

describe('checkConnectivity', () => {
  it('runs both checks and puts both summaries in the message', async () => {
    const opts = await startBoth();
    const result = await checkConnectivity(opts);
    expect(result.message).toMatch(
      new RegExp(`^Discord: 7 bots verified in guild ${GUILD} \\("Acme HQ"\\) \\(channels 5/5 visible\\); Mission Control: healthy at `),
    );
    expect(result.discord?.bots).toHaveLength(7);
    expect(result.missionControl?.status).toBe(200);
    expectNoSecrets(result, [MC_TOKEN, ...AGENTS.map(tokenOf)]);
  });

  it('says what was skipped when nothing is configured', async () => {
    expect((await checkConnectivity({})).message).toBe('skipped: no Discord bots configured; skipped: no Mission Control configured');
  });

  it('treats Discord settings without bots as not configured', async () => {
    const opts = await startBoth();
    const result = await checkConnectivity({ discord: { ...opts.discord, bots: [] }, missionControl: opts.missionControl });
    expect(result.message).toMatch(/^skipped: no Discord bots configured; Mission Control: healthy at /);
    expect(opts.d.requests).toHaveLength(0);
  });

  it('says Mission Control was skipped when only Discord is configured', async () => {
    const opts = await startBoth();
    const result = await checkConnectivity({ discord: opts.discord });
    expect(result.message).toMatch(/^Discord: 7 bots verified .*; skipped: no Mission Control configured$/);
  });

  it('reports both terminal problems at once', async () => {
    const opts = await startBoth();
    const e = await failureOf(() =>
      checkConnectivity({
        discord: { ...opts.discord, bots: [{ agentId: 'cantona', token: 'revoked' }] },
        missionControl: { ...opts.missionControl, token: 'wrong-mc-token' },
      }),
    );
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toMatch(
      /^Discord bot token for agent 'cantona' was rejected \(401\)\. .* Mission Control at .* rejected the token \(403\)\./,
    );
    expectNoSecrets(e, ['revoked', 'wrong-mc-token', MC_TOKEN]);
  });

  it('lets a terminal problem win over a transient one', async () => {
    const opts = await startBoth();
    opts.m.setHealthy(false);
    const e = await failureOf(() =>
      checkConnectivity({
        discord: { ...opts.discord, guildId: '123456789012345678' },
        missionControl: { ...opts.missionControl, maxRetries: 1 },
      }),
    );
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain('Discord guild 123456789012345678 is not visible');
  });

  it('merges transient failures and keeps the longest wait', async () => {
    const opts = await startBoth();
    opts.d.failNext(429, { times: 50, retryAfterSec: 0.02 });
    opts.m.failNext(503, { times: 50 });
    const e = await failureOf(() =>
      checkConnectivity({
        discord: { ...opts.discord, bots: fleetBots().slice(0, 1), maxRetries: 1 },
        missionControl: { ...opts.missionControl, maxRetries: 1 },
      }),
    );
    expect(e).toBeInstanceOf(TransientError);
    expect((e as TransientError).retryAfterMs).toBe(20);
    expect(e.message).toContain('rate limited (429)');
    expect(e.message).toContain('Mission Control health check');
  });
});
