import { z } from '@hono/zod-openapi';
import { AGENT_NAME, REPO_SLUG } from '../domain/template.ts';
import type { Db } from '../db/connection.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { getSecrets } from '../secrets/store.ts';

/**
 * A tenant's provisioning request. The body is validated here (paths built from agent names and
 * repos are refused at input, before anything touches a disk); non-secret parts are stored in
 * `fleets.settings`, secrets encrypted in `fleet_secrets`, and both are read back by the steps.
 */

const snowflake = z.string().regex(/^\d{15,25}$/, 'must be a Discord id (digits)');
const secretString = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const repoSlug = z
  .string()
  .regex(REPO_SLUG, 'must be owner/name')
  .refine((r) => !r.split('/').some((p) => p === '.' || p === '..' || p.startsWith('.')), 'must not contain . or .. segments');

export const ProvisionBody = z
  .object({
    templateId: z.string().min(1).max(64).optional(),
    repos: z.array(repoSlug).max(20).optional(),
    discord: z
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
          .max(20),
      })
      .strict()
      .optional(),
    missionControl: z
      .object({ url: z.url({ protocol: /^https?$/ }), token: secretString })
      .strict()
      .optional(),
    gitToken: secretString.optional(),
  })
  .strict()
  .openapi('ProvisionRequest');

export type ProvisionBodyInput = z.infer<typeof ProvisionBody>;

/** The request as the steps see it, secrets included. */
export interface FleetRequest {
  repos: string[];
  discord?: { guildId: string; channelIds: string[]; bots: Array<{ agent: string; token: string; applicationId?: string }> };
  missionControl?: { url: string; token: string };
  gitToken?: string;
}

/** What goes in fleets.settings: everything but the secrets. */
export interface StoredSettings {
  discord?: { guildId: string; channelIds: string[]; bots: Array<{ agent: string; applicationId?: string }> };
  missionControl?: { url: string };
  gitTokenSet?: boolean;
}

export function splitRequest(body: ProvisionBodyInput): { settings: StoredSettings; secrets: Record<string, string> } {
  const secrets: Record<string, string> = {};
  const settings: StoredSettings = {};
  if (body.discord) {
    settings.discord = {
      guildId: body.discord.guildId,
      channelIds: body.discord.channelIds,
      bots: body.discord.bots.map(({ agent, applicationId }) => ({ agent, ...(applicationId ? { applicationId } : {}) })),
    };
    for (const b of body.discord.bots) secrets[`discord_bot_token:${b.agent}`] = b.token;
  }
  if (body.missionControl) {
    settings.missionControl = { url: body.missionControl.url };
    secrets.mission_control_token = body.missionControl.token;
  }
  if (body.gitToken) {
    settings.gitTokenSet = true;
    secrets.git_token = body.gitToken;
  }
  return { settings, secrets };
}

export async function loadFleetRequest(
  db: Db,
  box: SecretBox,
  fleet: { id: string; repos: string[]; settings: unknown },
): Promise<FleetRequest> {
  const s = (fleet.settings ?? {}) as StoredSettings;
  const secrets = await getSecrets(db, box, fleet.id);
  const req: FleetRequest = { repos: fleet.repos };
  if (s.discord) {
    req.discord = {
      guildId: s.discord.guildId,
      channelIds: s.discord.channelIds,
      bots: s.discord.bots.map((b) => ({ ...b, token: secrets[`discord_bot_token:${b.agent}`] ?? '' })),
    };
  }
  if (s.missionControl) req.missionControl = { url: s.missionControl.url, token: secrets.mission_control_token ?? '' };
  if (s.gitTokenSet && secrets.git_token) req.gitToken = secrets.git_token;
  return req;
}
