import type { components } from '../../api/openapi-types.ts';

/** The API's shapes the CLI shows, by their OpenAPI names. */
export type Fleet = components['schemas']['Fleet'];
export type LogEntry = components['schemas']['ProvisionLogEntry'];
export type Tenant = components['schemas']['Tenant'];
export type FleetStatus = Fleet['status'];

/** The seed's meaning of each status, in words a tenant reads. */
export const STATUS_MEANING: Record<FleetStatus, string> = {
  pending: 'tenant created, provisioning not started',
  provisioning: 'VM spin-up and agent bootstrap in progress',
  active: 'fleet is live and agents are running',
  error: 'provisioning failed; the failing step says why',
  suspended: 'fleet paused (billing or admin action)',
};
