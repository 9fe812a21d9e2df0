import { z } from '@hono/zod-openapi';
import { FLEET_STATUSES } from '../domain/fleet.ts';
import { ALL_STEPS, LOG_STATUSES } from '../domain/steps.ts';
import { ProvisionInput } from '../services/fleet/provision-input.ts';
import { ReconfigureInput } from '../services/fleet/reconfigure-input.ts';
import { ReprovisionInput } from '../services/fleet/reprovision.ts';
import { CreateTenantInput } from '../services/tenants/create.ts';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

/** Schemas shared by routes; they are the OpenAPI document's components. */

// The services' own input schemas, under their names in the OpenAPI document.
export const ProvisionRequestSchema = ProvisionInput.openapi('ProvisionRequest');
export const CreateTenantSchema = CreateTenantInput.openapi('CreateTenant');
export const ReconfigureRequestSchema = ReconfigureInput.openapi('ReconfigureRequest');
export const ReprovisionRequestSchema = ReprovisionInput.openapi('ReprovisionRequest');

export const ErrorSchema = z
  .object({
    ok: z.literal(false),
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string().openapi({ example: 'Sign in first.' }),
      requestId: z.string().openapi({ example: 'req_3k2j1h' }),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error');

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `error.details.field` names the field',
  401: 'Not signed in, or the credentials were rejected',
  403: 'Signed in but not allowed',
  404: "Not found (also answered for another tenant's resource)",
  409: 'Conflicts with the current state; the message says what is allowed',
  413: 'The body is too large',
  415: 'The body is not JSON',
  429: 'Rate limited',
  500: 'Internal error; quote the request id',
};

/** The error responses a route can give, for its OpenAPI entry. */
export function errorResponses(...statuses: Array<400 | 401 | 403 | 404 | 409 | 429 | 500>) {
  const out: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }> = {};
  for (const s of [...statuses, 500 as const]) {
    out[s] = { description: DESCRIPTIONS[s] ?? 'Error', content: { 'application/json': { schema: ErrorSchema } } };
  }
  return out;
}

export const ProvisionLogEntrySchema = z
  .object({
    step: z.enum(ALL_STEPS),
    status: z.enum(LOG_STATUSES),
    message: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    createdAt: z.string().openapi({ example: '2026-03-18T09:00:00.000Z' }),
    runId: z
      .string()
      .nullable()
      .openapi({ description: 'The run that wrote the entry (added to the seed: tells runs apart)', example: 'run_8d2k1x' }),
  })
  .openapi('ProvisionLogEntry');

export const ProvisionLogSummarySchema = z
  .object({
    olderRuns: z.number().int().openapi({ description: 'Runs older than the newest ones shown whole (FLEET_LOG_WHOLE_RUNS)' }),
    omittedEntries: z.number().int().openapi({ description: "Their entries left out; each step's latest entry is always shown" }),
  })
  .openapi('ProvisionLogSummary', {
    description: 'Added to the seed: what provisionLog leaves out of a long history. null when it shows everything.',
  });

export const FleetSchema = z
  .object({
    status: z.enum(FLEET_STATUSES),
    templateId: z.string().openapi({ example: 'standard-7-agent' }),
    dashboardUrl: z.string().nullable(),
    agentSpecs: z.array(z.object({ name: z.string(), role: z.string() })),
    repos: z.array(z.string()),
    gcpResources: z.object({ vmName: z.string().nullable(), zone: z.string().nullable(), ip: z.string().nullable() }).nullable(),
    provisionLog: z.array(ProvisionLogEntrySchema),
    provisionLogSummary: z.union([ProvisionLogSummarySchema, z.null()]),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Fleet');

/**
 * A fleet or null, for the answers that may have none. Not `FleetSchema.nullable()`: that would
 * register the `Fleet` component itself as nullable, and every generated client would type each
 * fleet as possibly null.
 */
export const FleetOrNullSchema = z.union([FleetSchema, z.null()]);

export const TenantSchema = z
  .object({
    id: z.string().openapi({ example: 'tnt_4f8k2m' }),
    tenantId: z.string().openapi({ example: 'acme_corp' }),
    name: z.string(),
    plan: z.string(),
    kind: z.enum(['org', 'personal']),
    clerkOrgId: z.string().nullable(),
    clerkUserId: z.string().nullable(),
    status: z.enum(FLEET_STATUSES).nullable(),
    templateId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Tenant');

export const SECURITY_SESSION: Array<Record<string, string[]>> = [{ clerkBearer: [] }, { clerkCookie: [] }];
export const SECURITY_PLATFORM: Array<Record<string, string[]>> = [{ platformToken: [] }];
