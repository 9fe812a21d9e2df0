import { z } from 'zod';
import { DiscordInput, MissionControlInput, ProvisionInput } from './provision-input.ts';

/**
 * The body of a reconfigure request: the provision body's fields under the same rules, each one
 * optional (what is left out keeps its stored value), and `null` for Discord or Mission Control
 * removes that integration and its secrets. A union with null rather than `.nullable()`, so the
 * OpenAPI components stay as the provision body has them.
 */
export const ReconfigureInput = ProvisionInput.extend({
  discord: z.union([DiscordInput, z.null()]).optional(),
  missionControl: z.union([MissionControlInput, z.null()]).optional(),
})
  .strict()
  .refine((body) => Object.keys(body).length > 0, {
    message: 'give at least one setting to change: templateId, repos, discord, missionControl or gitToken',
  });

export type ReconfigureInput = z.infer<typeof ReconfigureInput>;
