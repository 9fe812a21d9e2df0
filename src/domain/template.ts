import { z } from 'zod';
import { repoName } from './repo-name.ts';

/** The schema of a fleet template (templates/*.json); validated when templates are loaded. */

export const AGENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export const templateAgentSchema = z.object({
  name: z.string().regex(AGENT_NAME, 'lowercase letters, digits and dashes, starting with a letter'),
  displayName: z.string().min(1),
  role: z.string().regex(/^[a-z][a-z-]*$/),
  description: z.string().min(20, 'describe the role in a sentence or more: it becomes AGENTS.md'),
  persona: z.string().min(20, 'describe the voice in a sentence or more: it becomes SOUL.md'),
});

export const templateSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    name: z.string().min(1),
    description: z.string().min(1),
    agents: z.array(templateAgentSchema).min(1),
    repos: z.array(repoName),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    for (const [i, a] of t.agents.entries()) {
      if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: ['agents', i, 'name'], message: `duplicate agent '${a.name}'` });
      seen.add(a.name);
    }
  });

export type Template = z.infer<typeof templateSchema>;
export type TemplateAgent = z.infer<typeof templateAgentSchema>;
