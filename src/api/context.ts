import type { Principal } from '../auth/principal.ts';
import type { ClerkVerifier } from '../auth/clerk.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/connection.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { TemplateRegistry } from '../templates/registry.ts';

/** What the HTTP layer needs from the rest of the system; built once by the server. */
export interface AppDeps {
  config: Config;
  db: Db;
  verifier: ClerkVerifier;
  platformToken: string;
  templates: TemplateRegistry;
  logger: Logger;
  metrics: Metrics;
}

/** Hono's per-request variables. */
export interface AppEnv {
  Variables: {
    requestId: string;
    principal: Principal;
    log: Logger;
  };
}
