/**
 * What the reconciler observed of a fleet, as stored (`fleet_health.report`) and served by the
 * health routes. Pure: no I/O.
 *
 * Glossary: a **check** is one thing looked at (the machine, the gateway, Mission Control, an
 * agent's bot…); `ok` it passed, `failing` it did not (`lastError` says why), `not_configured`
 * there is nothing to check (no Discord, no Mission Control), `unknown` it could not be looked at
 * because something it depends on failed (no gateway, no agent report).
 */
export const CHECK_STATES = ['ok', 'failing', 'not_configured', 'unknown'] as const;
export type CheckState = (typeof CHECK_STATES)[number];

export interface HealthCheck {
  state: CheckState;
  /** ISO time of the check. */
  lastCheckedAt: string;
  /** Why it is failing or unknown; null when ok or not configured. */
  lastError: string | null;
}

export interface AgentHealth {
  name: string;
  gatewayUp: HealthCheck;
  /** The agent is in the gateway's config (and, where the gateway reports agents, loaded). */
  configured: HealthCheck;
  /** Its Discord bot's account is connected, as the gateway reports it (`openclaw health`). */
  discordConnected: HealthCheck;
  /** Its bot sees the fleet's guild and channels (Discord REST). */
  channelsReachable: HealthCheck;
}

export interface FleetHealthReport {
  machine: HealthCheck;
  gateway: HealthCheck;
  missionControl: HealthCheck;
  agents: AgentHealth[];
}

export const checkOf = (state: CheckState, at: string, error: string | null = null): HealthCheck => ({
  state,
  lastCheckedAt: at,
  lastError: state === 'ok' || state === 'not_configured' ? null : error,
});

/**
 * Whether the fleet as a whole needs acting on: its machine or gateway failing. Agents' bots and
 * Mission Control are reported, never acted on (an expired bot token is the tenant's to fix).
 */
export const fleetIsUnhealthy = (r: FleetHealthReport): boolean => r.machine.state === 'failing' || r.gateway.state === 'failing';
