import type { Principal } from '../auth/principal.ts';
import type { Db } from '../db/connection.ts';
import type { ComputeDriverName } from '../domain/fleet.ts';
import type { Plan, PlanLimits } from '../domain/plans.ts';
import type { RunQueue } from '../pipeline/queue.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { TemplateRegistry } from '../templates/registry.ts';
import type { OutboundPolicy } from '../util/outbound-address.ts';

/**
 * What every verb needs, built once by the composition root (server.ts) and shared by every
 * transport. Verbs record intent and enqueue; no provisioning work happens in them.
 */
export interface ServiceContext {
  db: Db;
  templates: TemplateRegistry;
  queue: RunQueue;
  box: SecretBox;
  /** The compute driver a fleet gets at its first provision (FLEET_COMPUTE); it keeps it for life. */
  computeDriver: ComputeDriverName;
  /** What URLs a tenant names may point at: checked at input, and again when they are called. */
  outbound: OutboundPolicy;
  /** What each plan allows (FLEET_PLAN_LIMITS over domain/plans.ts). */
  planLimits: Record<Plan, PlanLimits>;
  /** Called after commit with a new run, so a worker in this process starts it at once. */
  offer?: (runId: string) => void;
  /**
   * Called after commit with the tenant whose fleet changed, so this replica's read cache never
   * answers with the state from before a write it just made (other replicas learn by NOTIFY).
   */
  changed?: (tenantId: string) => void;
}

/**
 * Who a verb acts for: a signed-in user (whose tenant follows from the session, never from the
 * input) or the platform (which names the tenant: its `tenantId` slug or `tnt_…` id).
 */
export type Caller = { principal: Principal } | { platform: true; tenant: string; actor?: PlatformActor };

/** Who acts with the platform's authority: the platform token, or Clerk's webhook. */
export type PlatformActor = 'platform' | 'webhook';

/** The audit log's `actor` for a caller. */
export const actorOf = (caller: Caller): string =>
  'principal' in caller ? `user:${caller.principal.userId}` : (caller.actor ?? 'platform');
