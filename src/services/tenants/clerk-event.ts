import type { ClerkDelivery } from '../../auth/clerk-webhook.ts';
import { findTenantForClerk } from '../../db/tenants.ts';
import { deliverySeen, recordDelivery } from '../../db/webhook-deliveries.ts';
import type { Caller, ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { cancelProvisioning } from '../fleet/cancel.ts';
import { deprovisionFleet } from '../fleet/deprovision.ts';

/** How long handled delivery ids are kept: far past the 5 minutes a signed timestamp is accepted for. */
const KEEP_DELIVERY_IDS_HOURS = 24;

export type ClerkEventOutcome =
  | { outcome: 'deprovisioning'; tenantId: string; runId: string }
  | { outcome: 'tenant-removed'; tenantId: string }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'replayed' };

/**
 * Acts on a verified Clerk event: an organisation or a user deleted → its tenant is deprovisioned
 * and removed as the platform's DELETE /api/tenants/{id} does (audited as `webhook`; the audit log
 * is kept). Every other event needs nothing. A delivery id seen before is acknowledged and
 * ignored. The id is recorded only once the action has been taken, so a delivery that failed
 * (answered non-2xx) is acted on when Clerk tries it again; deprovisioning twice is harmless (the
 * second answers with the first's run).
 */
export async function handleClerkEvent(ctx: ServiceContext, delivery: ClerkDelivery): Promise<ClerkEventOutcome> {
  if (await deliverySeen(ctx.db, delivery.deliveryId)) return { outcome: 'replayed' };
  const outcome = await act(ctx, delivery);
  await ctx.db.transaction().execute((trx) => recordDelivery(trx, delivery.deliveryId, delivery.type, KEEP_DELIVERY_IDS_HOURS));
  return outcome;
}

async function act(ctx: ServiceContext, delivery: ClerkDelivery): Promise<ClerkEventOutcome> {
  const owner =
    delivery.type === 'organization.deleted'
      ? { clerkOrgId: delivery.objectId ?? '' }
      : delivery.type === 'user.deleted'
        ? { clerkUserId: delivery.objectId ?? '' }
        : undefined;
  // organizationMembership.deleted and the rest: sign-in follows Clerk, so nothing here changes.
  if (!owner) return { outcome: 'ignored', reason: `${delivery.type} needs nothing` };
  if (!delivery.objectId) throw new ServiceError('invalid_input', `${delivery.type}: the event names no id`, 'data.id');
  const tenant = await findTenantForClerk(ctx.db, owner);
  if (!tenant) return { outcome: 'ignored', reason: `no tenant belongs to ${delivery.objectId}` };
  const caller: Caller = { platform: true, tenant: tenant.id, actor: 'webhook' };
  try {
    return outcomeOf(tenant.id, await deprovisionFleet(ctx, caller, { removeTenant: true }));
  } catch (e) {
    if (!(e instanceof ServiceError) || e.code !== 'illegal_transition') throw e;
    // Still provisioning: stop that first. A queued run stops at once and the deprovision follows
    // now; a running one stops at its next safe point, and Clerk's next attempt deprovisions it.
    const cancelled = await cancelProvisioning(ctx, caller).catch(() => undefined);
    if (cancelled?.stopped === 'at-once') return outcomeOf(tenant.id, await deprovisionFleet(ctx, caller, { removeTenant: true }));
    throw new ServiceError(
      'conflict',
      `${e.message} Its provisioning was asked to stop; the deprovision follows when Clerk delivers this event again.`,
    );
  }
}

function outcomeOf(tenantId: string, d: Awaited<ReturnType<typeof deprovisionFleet>>): ClerkEventOutcome {
  return d.kind === 'tenant-removed' ? { outcome: 'tenant-removed', tenantId } : { outcome: 'deprovisioning', tenantId, runId: d.run.id };
}
