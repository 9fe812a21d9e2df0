import { isOrgAdmin, type Principal } from '../../auth/principal.ts';
import { audit } from '../../db/audit.ts';
import { findFleetOfTenant } from '../../db/fleets.ts';
import { getSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import type { ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { existingTenantOf } from './access.ts';

const NO_FLEET = 'There is no fleet yet: provision one first, then open its Control UI.';

export interface ControlUiAccess {
  dashboardUrl: string;
  /** The fleet's gateway token: whoever holds it controls the gateway. */
  token: string;
}

/**
 * The gateway's Control UI address and token for a caller who may run the fleet: an org admin or
 * the owner of a personal tenant (the token is full control of the agents, so never a member).
 * Each hand-over is audited, without the token.
 */
export async function controlUiAccess(ctx: ServiceContext, caller: { principal: Principal }): Promise<ControlUiAccess> {
  const p = caller.principal;
  if (p.orgId && !isOrgAdmin(p)) {
    throw new ServiceError(
      'forbidden',
      `Only organisation admins can open the Control UI; your role in ${p.orgSlug ?? p.orgId} is ${p.orgRole ?? 'none'}.`,
    );
  }
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const fleet = await findFleetOfTenant(ctx.db, tenantId);
  if (!fleet) throw new ServiceError('not_found', NO_FLEET);
  const token = fleet.dashboard_url ? (await getSecrets(ctx.db, ctx.box, fleet.id))[SECRET.gatewayToken] : undefined;
  if (!fleet.dashboard_url || !token) {
    throw new ServiceError(
      'conflict',
      `The fleet has no Control UI yet (it is '${fleet.status}'): it appears once provisioning has made the machine. Wait for it, then try again.`,
    );
  }
  await audit(ctx.db, { tenantId, actor: `user:${p.userId}`, action: 'control_ui_token' });
  return { dashboardUrl: fleet.dashboard_url, token };
}
