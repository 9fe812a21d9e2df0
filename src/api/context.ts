import type { MemoryStore } from 'hono-rate-limiter';
import type { Principal } from '../auth/principal.ts';
import type { ClerkVerifier } from '../auth/clerk.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/connection.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { TemplateRegistry } from '../templates/registry.ts';
import type { EventHub } from '../events/hub.ts';
import type { FleetViewCache } from './fleet-view-cache.ts';
import type { ServiceContext } from '../services/context.ts';

/** What the HTTP layer needs from the rest of the system; built once by the server. */
export interface AppDeps {
  config: Config;
  db: Db;
  verifier: ClerkVerifier;
  platformToken: string;
  templates: TemplateRegistry;
  logger: Logger;
  metrics: Metrics;
  /** The verbs' context (src/services): routes are thin adapters over the services layer. */
  services: ServiceContext;
  events: EventHub;
  fleetCache: FleetViewCache;
  /** Present exactly when dev sign-in is on (no Clerk settings, never in production): mints session tokens. */
  devSignIn?: DevSignIn;
  /** Clerk's publishable key for the dashboard's sign-in, when Clerk is configured. */
  clerkPublishableKey?: string;
  /** Aborted when the server stops: event streams tell their clients when to come back, and end. */
  shutdown?: AbortSignal;
  /** The per-user rate limit's counts, when GET /api/fleet's fast path shares them (fleet-fast-path.ts). */
  userRateStore?: MemoryStore<AppEnv>;
}

/** Dev sign-in's token minter: a Clerk-shaped session token for whoever is named. */
export interface DevSignIn {
  mint(who: { userId: string; orgId?: string; orgRole?: 'admin' | 'member' }): { token: string; expiresAtMs: number };
}

/** Hono's per-request variables. */
export interface AppEnv {
  Variables: {
    requestId: string;
    principal: Principal;
    /** When the session's token expires (ms since the epoch). */
    sessionExpiresAtMs: number;
    log: Logger;
  };
}
