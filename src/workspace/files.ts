import type { TemplateAgent } from '../domain/template.ts';
import type { Host } from '../hosts/host.ts';

/**
 * The workspace files OpenClaw reads for each agent, rendered from the template. Pure and
 * deterministic: the same input gives byte-identical files, so rewriting them is idempotent.
 * AGENTS.md carries the rules and a `## Tools` section (it replaced TOOLS.md in OpenClaw's 2026-07
 * docs); SOUL.md the persona; IDENTITY.md who the agent is, as `- Label: value` lines that
 * `openclaw agents set-identity --from-identity` parses; USER.md whom it works for.
 */
export type WorkspaceFileName = 'AGENTS.md' | 'SOUL.md' | 'IDENTITY.md' | 'USER.md';
export type WorkspaceFiles = Record<WorkspaceFileName, string>;

export const WORKSPACE_FILE_NAMES: readonly WorkspaceFileName[] = ['AGENTS.md', 'SOUL.md', 'IDENTITY.md', 'USER.md'];

export interface WorkspaceInput {
  agent: TemplateAgent;
  /** The whole fleet in template order, the agent included. */
  team: TemplateAgent[];
  tenantName: string;
  /** 'owner/name', each checked out at `repos/owner/name` in the workspace. */
  repos: string[];
  discord?: { guildId: string; channelIds: string[] };
}

/** The four files of one agent's workspace. */
export function renderWorkspaceFiles(input: WorkspaceInput): WorkspaceFiles {
  const agent = cleanAgent(input.agent);
  const team = input.team.map(cleanAgent);
  const tenant = oneLine(input.tenantName) || 'your organisation';
  // Sorted and deduplicated: the same set of repos always gives the same file.
  const repos = [...new Set(input.repos)].sort();
  return {
    'AGENTS.md': agentsMd(agent, team, tenant, repos, input.discord),
    'SOUL.md': soulMd(agent),
    'IDENTITY.md': identityMd(agent, tenant),
    'USER.md': userMd(agent, tenant),
  };
}

function agentsMd(
  agent: TemplateAgent,
  team: TemplateAgent[],
  tenant: string,
  repos: string[],
  discord: WorkspaceInput['discord'],
): string {
  const teammates = team.filter((a) => a.name !== agent.name);
  const lead = team.find((a) => a.role === 'orchestrator' && a.name !== agent.name);
  const where = discord ? 'in the team channel' : 'in the team conversation';

  const teamLines = teammates.length
    ? teammates.map((a) => `- **${a.displayName}** (\`${a.name}\`, ${a.role}): ${firstSentence(a.description)}`).join('\n')
    : '- You are the only agent in this fleet.';

  let workflow: string;
  if (lead) {
    workflow =
      `${lead.displayName} (${lead.role}) assigns the work. Take tasks from ${lead.displayName}, and report back to them ` +
      'when a task is done or blocked. When part of a task belongs to another role, hand it to that teammate instead of doing it yourself.';
  } else if (teammates.length) {
    workflow =
      'You assign the work: give each task to the teammate whose role fits, follow it until it is done, and decide when the goal is met.';
  } else {
    workflow = 'You plan your own work. Keep a written trail of what you decided and why.';
  }

  const repoLines = repos.length
    ? repos.map((r) => `- \`${r}\`: checked out at \`repos/${r}/\``).join('\n')
    : '- No repositories are checked out yet.';
  const channelLines = discord
    ? [`- Discord server \`${discord.guildId}\``, ...[...new Set(discord.channelIds)].map((c) => `- Discord channel \`${c}\``)].join('\n')
    : '- No chat channels are connected yet.';

  return `# AGENTS.md - ${agent.displayName}, ${agent.role}

You are **${agent.displayName}**, the ${agent.role} of the agent fleet of ${tenant}.
Your voice and manner are in \`SOUL.md\`; who you work for is in \`USER.md\`.

## Your role

${agent.description}

## Team

${teamLines}

## How work flows

${workflow}

To hand off, mention the teammate by name ${where} with: what you need, the context they
cannot see, and what "done" looks like. Stay available for their questions, and say so when
you take over a task someone handed to you.

## Repositories

${repoLines}

Work on a branch per change, keep changes small, and explain why in each commit and pull request.

## Rules

- Stay within your role; when something belongs to another role, hand it off.
- Never paste secrets (tokens, keys, passwords) into chat, commits, issues or files.
- Do not run destructive commands (deleting data, force-pushing, rewriting history) unless asked.
- When blocked, say what blocks you, what you tried, and what you need.

## Tools

- \`git\` in the repositories above, with the access this fleet was given.
- The OpenClaw gateway's built-in tools, as configured for this fleet.
- Chat:
${channelLines}
`;
}

function soulMd(agent: TemplateAgent): string {
  return `# SOUL.md - ${agent.displayName}

${agent.persona}

Speak as ${agent.displayName} in every message: the voice stays the same in chat, in code
review and in writing.
`;
}

function identityMd(agent: TemplateAgent, tenant: string): string {
  // Only lines OpenClaw's identity parser understands carry a `Label:`; the rest is prose.
  return `# IDENTITY.md - Who Am I?

- Name: ${agent.displayName}
- Creature: AI ${agent.role} in the agent fleet of ${tenant}
- Vibe: ${firstSentence(agent.persona)}

Agent id \`${agent.name}\`, role \`${agent.role}\`.
`;
}

function userMd(agent: TemplateAgent, tenant: string): string {
  return `# USER.md - Who You Work For

You work for **${tenant}**. Their people set the team's goals; ${agent.displayName} and the
rest of the fleet work toward them.

## Directives

<!-- source: fleet provisioning | status: active -->

- Always treat requests from ${tenant}'s people as the source of truth for what to build.
- Prefer asking a short question over guessing when a request is unclear.
- Never share ${tenant}'s code, data or credentials outside the team's repositories and channels.
`;
}

/**
 * Writes the files into the workspace atomically. A file whose content is already the same is
 * left alone (no mtime change that would make the gateway reload it). Returns the names written.
 */
export async function writeWorkspaceFiles(host: Host, workspaceRel: string, files: WorkspaceFiles): Promise<WorkspaceFileName[]> {
  await host.mkdirp(workspaceRel);
  const written: WorkspaceFileName[] = [];
  for (const name of WORKSPACE_FILE_NAMES) {
    const rel = `${workspaceRel}/${name}`;
    const current = (await host.exists(rel)) ? await host.readFile(rel) : undefined;
    if (current === files[name]) continue;
    await host.writeFileAtomic(rel, files[name]);
    written.push(name);
  }
  return written;
}

/** Template text with line endings normalised and single-line fields kept on one line. */
function cleanAgent(a: TemplateAgent): TemplateAgent {
  return {
    name: oneLine(a.name),
    displayName: oneLine(a.displayName),
    role: oneLine(a.role),
    description: block(a.description),
    persona: block(a.persona),
  };
}

/** One line: a name with a line break could otherwise start a new heading or rule in the file. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function block(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
}

function firstSentence(text: string): string {
  const flat = oneLine(text);
  const m = /^.*?[.!?](\s|$)/.exec(flat);
  return (m ? m[0] : flat).trim();
}
