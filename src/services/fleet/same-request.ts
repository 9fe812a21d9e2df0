import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../../db/connection.ts';
import type { FleetRow } from '../../db/fleets.ts';
import { getSecrets } from '../../db/secrets.ts';
import { splitSettings, type StoredSettings } from '../../domain/fleet-settings.ts';
import type { SecretBox } from '../../secrets/secret-box.ts';
import type { ProvisionInput } from './provision-input.ts';

/**
 * True when a provision request asks for nothing the fleet does not already have stored (what it
 * leaves out counts as "the same"): sent again while its run is at work, it is that run; anything
 * different would be dropped by it, so the caller refuses it instead.
 */
export async function asksNothingNew(db: Db, box: SecretBox, fleet: FleetRow, input: ProvisionInput): Promise<boolean> {
  if (input.templateId !== undefined && input.templateId !== fleet.template_id) return false;
  if (input.repos !== undefined && !isDeepStrictEqual(input.repos, fleet.repos)) return false;
  const { settings, secrets } = splitSettings(input);
  const stored = (fleet.settings ?? {}) as StoredSettings;
  for (const key of Object.keys(settings) as Array<keyof StoredSettings>) {
    // Compared as values: jsonb hands objects back with their keys in its own order.
    if (!isDeepStrictEqual(settings[key], stored[key])) return false;
  }
  if (Object.keys(secrets).length === 0) return true;
  const current = await getSecrets(db, box, fleet.id);
  return Object.entries(secrets).every(([name, value]) => current[name] === value);
}
