import { z } from 'zod';
import { repoName } from '../../domain/repo-name.ts';
import { AGENT_NAME } from '../../domain/template.ts';

/**
 * The body of a provision request, in plain zod (the API adds its OpenAPI name). Paths built from
 * agent names and repos are refused here, before anything touches a disk.
 */
const snowflake = z.string().regex(/^\d{15,25}$/, 'must be a Discord id (digits)');
const secretString = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** Discord: the guild, the channels the agents are bound to, one bot per agent. */
export const DiscordInput = z
  .object({
    guildId: snowflake,
    // The agents are bound to these channels: a Discord setup without one has nothing to bind.
    channelIds: z.array(snowflake).min(1, 'give at least one channel for the agents').max(50),
    bots: z
      .array(
        z.object({
          agent: z.string().regex(AGENT_NAME, 'must be an agent name of the template'),
          token: secretString,
          applicationId: snowflake.optional(),
        }),
      )
      .min(1)
      .max(20)
      // One bot per agent: a second token for the same agent would silently replace the first;
      // one token for two agents would make them one bot in Discord. The message names the
      // agents, never the token.
      .superRefine((bots, ctx) => {
        const seen = new Set<string>();
        const agentOfToken = new Map<string, string>();
        for (const [i, bot] of bots.entries()) {
          if (seen.has(bot.agent))
            ctx.addIssue({ code: 'custom', path: [i, 'agent'], message: `agent '${bot.agent}' has two bots; give each agent one` });
          const first = agentOfToken.get(bot.token);
          if (first !== undefined && first !== bot.agent) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'token'],
              message: `agents '${first}' and '${bot.agent}' have the same bot token; each agent needs its own Discord bot`,
            });
          }
          seen.add(bot.agent);
          if (first === undefined) agentOfToken.set(bot.token, bot.agent);
        }
      }),
  })
  .strict();

export const MissionControlInput = z.object({ url: z.url({ protocol: /^https?$/ }), token: secretString }).strict();

export const ProvisionInput = z
  .object({
    templateId: z.string().min(1).max(64).optional(),
    repos: z.array(repoName).max(20).optional(),
    discord: DiscordInput.optional(),
    missionControl: MissionControlInput.optional(),
    gitToken: secretString.optional(),
  })
  .strict();

export type ProvisionInput = z.infer<typeof ProvisionInput>;
