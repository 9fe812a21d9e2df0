import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { SAMPLE_REPO } from '../../domain/sample-repo.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';

const TemplateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    repos: z.array(z.string()),
    agents: z.array(z.object({ name: z.string(), displayName: z.string(), role: z.string(), description: z.string() })),
  })
  .openapi('Template');

const route = createRoute({
  method: 'get',
  path: '/api/templates',
  operationId: 'listTemplates',
  tags: ['Fleet'],
  summary: 'The fleet templates a tenant can provision from',
  security: SECURITY_SESSION,
  responses: {
    200: {
      description: 'Templates',
      content: {
        'application/json': {
          schema: z.object({
            ok: z.literal(true),
            templates: z.array(TemplateSchema),
            sampleRepo: z.string().optional().openapi({
              description: 'A repository this server keeps locally (dev machines only): a first fleet that uses it needs no internet.',
            }),
          }),
        },
      },
    },
    ...errorResponses(401),
  },
});

export function registerTemplatesList(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, (c) =>
    c.json(
      {
        ok: true as const,
        templates: deps.templates.list().map((t) => ({
          id: t.id,
          name: t.name,
          description: t.description,
          repos: t.repos,
          agents: t.agents.map(({ name, displayName, role, description }) => ({ name, displayName, role, description })),
        })),
        ...(deps.config.pipeline.sampleRepo ? { sampleRepo: SAMPLE_REPO } : {}),
      },
      200,
    ),
  );
}
