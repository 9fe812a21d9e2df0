import { checkConnectivity } from '../../connectivity/check.ts';
import type { StepDefinition } from '../step.ts';

/** Discord bots, guild and channels; Mission Control's health endpoint. Unconfigured = "skipped". */
export const connectivityCheck: StepDefinition = {
  name: 'connectivity_check',
  timeoutMs: 2 * 60_000,
  async run(ctx) {
    const { discord, missionControl } = ctx.request;
    const result = await checkConnectivity({
      discord: discord
        ? {
            baseUrl: ctx.settings.discordApiUrl,
            bots: discord.bots.map((b) => ({ agentId: b.agent, token: b.token })),
            guildId: discord.guildId,
            channelIds: discord.channelIds,
            signal: ctx.signal,
          }
        : undefined,
      missionControl: missionControl
        ? { url: missionControl.url, token: missionControl.token, outbound: ctx.settings.outbound, signal: ctx.signal }
        : undefined,
    });
    return {
      message: result.message,
      output: {
        discordBots: result.discord?.bots.map((b) => ({ agentId: b.agentId, botUserId: b.botUserId })) ?? [],
        missionControl: missionControl ? 'ok' : 'skipped',
      },
    };
  },
};
