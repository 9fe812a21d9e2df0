import { z } from '@hono/zod-openapi';

/** The audit log as the tenant and platform routes show it. */
export const AuditPage = z
  .object({
    ok: z.literal(true),
    entries: z.array(
      z.object({
        id: z.number().int(),
        tenantId: z.string().nullable(),
        actor: z.string().openapi({ example: 'user:user_2abc', description: '`platform`, `user:<id>`, `webhook` or `worker:<id>`' }),
        action: z.string().openapi({ example: 'fleet.deprovisioned' }),
        detail: z.record(z.string(), z.unknown()),
        createdAt: z.string(),
      }),
    ),
    next: z.number().int().nullable().openapi({ description: 'Pass as `after` for the next page; null at the end' }),
  })
  .openapi('AuditPage');

export const AuditQuery = z.object({
  after: z.coerce.number().int().min(0).optional().openapi({ description: 'The `next` of the previous page' }),
  limit: z.coerce.number().int().min(1).max(500).optional().openapi({ description: 'At most this many entries (default 100)' }),
});
