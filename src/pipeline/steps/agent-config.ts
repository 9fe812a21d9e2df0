import { renderOpenclawConfig } from '../../gateway/config.ts';
import { getSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import { renderWorkspaceFiles, writeWorkspaceFiles } from '../../workspace/files.ts';
import type { StepDefinition } from '../step.ts';
import { hostOf, machineOf, OPENCLAW_CONFIG_REL, OPENCLAW_STATE_REL, workspaceRel } from './machine.ts';

/** Each workspace's AGENTS.md, SOUL.md, IDENTITY.md, USER.md, and the gateway's openclaw.json. */
export const agentConfig: StepDefinition = {
  name: 'agent_config',
  timeoutMs: 60_000,
  async run(ctx) {
    const host = await hostOf(ctx);
    const machine = machineOf(ctx);
    // The agents stored with the fleet, not today's template file: every step sees the same team.
    const team = ctx.fleet.agents;
    const discord = ctx.request.discord;
    for (const agent of team) {
      const files = renderWorkspaceFiles({
        agent,
        team,
        tenantName: ctx.tenant.name,
        repos: ctx.request.repos,
        discord: discord ? { guildId: discord.guildId, channelIds: discord.channelIds } : undefined,
      });
      await writeWorkspaceFiles(host, workspaceRel(agent.name), files);
    }

    const { [SECRET.gatewayToken]: token } = await getSecrets(ctx.db, ctx.settings.box, ctx.fleet.id);
    if (!token) throw new Error('the gateway token written by vm_create is missing');
    const config = renderOpenclawConfig({
      port: machine.gatewayPort,
      token,
      // A VM is the fleet's own: its Control UI is opened at the VM's address (dashboardUrl).
      bind: machine.driver === 'local' ? 'loopback' : 'lan',
      stateDir: host.resolve(OPENCLAW_STATE_REL),
      offline: ctx.settings.gatewayOffline,
      agents: team.map((a) => ({
        id: a.name,
        name: a.displayName,
        role: a.role,
        workspace: host.resolve(workspaceRel(a.name)),
        agentDir: host.resolve(`openclaw/agents/${a.name}`),
      })),
      discord: discord
        ? {
            guildId: discord.guildId,
            channelIds: discord.channelIds,
            accounts: discord.bots.map((b) => ({
              agentId: b.agent,
              token: b.token,
              ...(b.applicationId ? { applicationId: b.applicationId } : {}),
            })),
          }
        : undefined,
    });
    await host.mkdirp(OPENCLAW_STATE_REL);
    // It holds the gateway and bot tokens: readable by the fleet's owner only.
    await host.writeFileAtomic(OPENCLAW_CONFIG_REL, `${JSON.stringify(config, null, 2)}\n`, 0o600);
    const discordPart = discord
      ? `, ${discord.bots.length} Discord account${discord.bots.length > 1 ? 's' : ''} bound`
      : ', no Discord configured';
    return {
      message: `Wrote AGENTS.md, SOUL.md, IDENTITY.md and USER.md for ${team.length} agent${team.length > 1 ? 's' : ''} and openclaw.json${discordPart}`,
      output: { configPath: OPENCLAW_CONFIG_REL, agents: team.map((a) => a.name) },
    };
  },
};
