import { z } from '@hono/zod-openapi';
import { DESIRED_STATES, FLEET_STATUSES } from '../../domain/fleet.ts';
import { CHECK_STATES } from '../../domain/fleet-health.ts';
import type { FleetHealthView } from '../../services/fleet/health-read.ts';

/** The health rollup as the tenant and platform routes show it. */
const Check = z
  .object({
    state: z.enum(CHECK_STATES).openapi({ description: '`not_configured`: nothing to check; `unknown`: what it depends on failed' }),
    lastCheckedAt: z.string().openapi({ example: '2026-03-18T09:00:00.000Z' }),
    lastError: z.string().nullable(),
  })
  .openapi('HealthCheck');

const AgentHealth = z
  .object({
    name: z.string(),
    gatewayUp: Check,
    configured: Check,
    discordConnected: Check,
    channelsReachable: Check,
  })
  .openapi('AgentHealth');

export const FleetHealthBody = z
  .object({
    ok: z.literal(true),
    health: z.union([
      z.object({
        fleetStatus: z.enum(FLEET_STATUSES),
        desiredState: z.enum(DESIRED_STATES),
        checkedAt: z.string().nullable().openapi({ description: 'When the reconciler last looked; null before its first look' }),
        machine: z.union([Check, z.null()]),
        gateway: z.union([Check, z.null()]),
        missionControl: z.union([Check, z.null()]),
        agents: z.array(AgentHealth),
      }),
      z.null(),
    ]),
  })
  .openapi('FleetHealth');

export function healthBody(view: FleetHealthView | null): z.infer<typeof FleetHealthBody> {
  if (!view) return { ok: true, health: null };
  const r = view.report;
  return {
    ok: true,
    health: {
      fleetStatus: view.fleetStatus,
      desiredState: view.desiredState,
      checkedAt: view.checkedAt,
      machine: r?.machine ?? null,
      gateway: r?.gateway ?? null,
      missionControl: r?.missionControl ?? null,
      agents: r?.agents ?? [],
    },
  };
}
