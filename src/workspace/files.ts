import type { TemplateAgent } from '../domain/template.ts';
import type { Host } from '../hosts/host.ts';

/**
 * The workspace files OpenClaw reads for each agent, rendered from the template. Pure and
 * deterministic: the same input gives byte-identical files, so rewriting them is idempotent.
 * AGENTS.md carries the rules and a `## Tools` section (it replaced TOOLS.md in OpenClaw's 2026-07
 * docs); SOUL.md the persona; IDENTITY.md who the agent is; USER.md whom it works for.
 */
export type WorkspaceFileName = 'AGENTS.md' | 'SOUL.md' | 'IDENTITY.md' | 'USER.md';

export interface WorkspaceInput {
  agent: TemplateAgent;
  team: TemplateAgent[];
  tenantName: string;
  repos: string[];
  discord?: { guildId: string; channelIds: string[] };
}

export function renderWorkspaceFiles(i: WorkspaceInput): Record<WorkspaceFileName, string> {
  const { agent } = i;
  const teammates = i.team.filter((a) => a.name !== agent.name);
  const lead = i.team.find((a) => a.role === 'orchestrator');
  const repos = i.repos.length ? i.repos.map((r) => `- \`${r}\` — checked out at \`repos/${r}/\``).join('\n') : '- (no repositories yet)';
  const team = teammates.length
    ? teammates.map((a) => `- **${a.displayName}** (\`${a.name}\`, ${a.role}): ${firstSentence(a.description)}`).join('\n')
    : '- You work alone in this fleet.';
  const handoff =
    lead && lead.name !== agent.name
      ? `Take work from ${lead.displayName}, report back to them when it is done or blocked, and hand off to the teammate whose role fits.`
      : teammates.length
        ? 'You assign the work: give each task to the teammate whose role fits and follow it to the end.'
        : 'Plan your own work and keep a written trail of decisions.';
  const channels = i.discord
    ? `Discord guild \`${i.discord.guildId}\`${i.discord.channelIds.length ? `, channels ${i.discord.channelIds.map((c) => `\`${c}\``).join(', ')}` : ''}.`
    : 'No chat channels are connected yet.';
  return {
    'AGENTS.md': `# ${agent.displayName} — ${agent.role}

${agent.description}

## Team
${team}

${handoff}

## Repositories
${repos}

## Rules
- Work in small, reviewable steps; say what you changed and why.
- Never paste secrets (tokens, keys, passwords) into chat, commits or files.
- When blocked, say what blocks you and what you tried.

## Tools
- \`git\` in the repositories above; the OpenClaw gateway's tools as configured.
- Channels: ${channels}
`,
    'SOUL.md': `# Soul of ${agent.displayName}

${agent.persona}
`,
    'IDENTITY.md': `# Identity

- Name: ${agent.displayName}
- Id: ${agent.name}
- Role: ${agent.role}
`,
    'USER.md': `# Who you work for

You are part of the agent fleet of **${i.tenantName}**. Their people give the team its goals;
treat their requests as the source of truth and ask them when something is unclear.
`,
  };
}

export async function writeWorkspaceFiles(host: Host, workspaceRel: string, files: Record<WorkspaceFileName, string>): Promise<void> {
  await host.mkdirp(workspaceRel);
  for (const [name, content] of Object.entries(files)) await host.writeFileAtomic(`${workspaceRel}/${name}`, content);
}

function firstSentence(text: string): string {
  const m = /^.*?[.!?](\s|$)/.exec(text);
  return (m ? m[0] : text).trim();
}
