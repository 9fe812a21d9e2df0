import { limitsOf } from '../../domain/plans.ts';
import { SAMPLE_REPO } from '../../domain/sample-repo.ts';
import { cloneRepo } from '../../workspace/git.ts';
import type { StepDefinition } from '../step.ts';
import { hostOf, workspaceRel } from './machine.ts';

/** One workspace directory per agent, each with its own clone of every repo. */
export const workspaceBootstrap: StepDefinition = {
  name: 'workspace_bootstrap',
  timeoutMs: 15 * 60_000,
  async run(ctx) {
    const host = await hostOf(ctx);
    const agents = ctx.fleet.agents;
    const repos = ctx.request.repos;
    const maxBytes = limitsOf(ctx.settings.planLimits, ctx.tenant.plan).repoMb * 1024 * 1024;
    const total = agents.length * repos.length;
    let cloned = 0;
    let done = 0;
    for (const agent of agents) {
      await host.mkdirp(workspaceRel(agent.name));
      for (const repo of repos) {
        // Clones are the slow part of this step: say which one is under way, so a waiting tenant sees it move.
        done++;
        await ctx.progress(`cloning repo ${done} of ${total} (${repo} for ${agent.name})`);
        // The sample (dev machines) comes from the local forge and never gets the tenant's git token.
        const sampleForge = repo === SAMPLE_REPO ? ctx.settings.sampleForgeUrl : undefined;
        const res = await cloneRepo(host, {
          baseUrl: sampleForge ?? ctx.settings.gitBaseUrl,
          repo,
          dest: `${workspaceRel(agent.name)}/repos/${repo}`,
          token: sampleForge ? undefined : ctx.request.gitToken,
          timeoutMs: 5 * 60_000,
          signal: ctx.signal,
          maxBytes,
        });
        if (res.cloned) cloned++;
      }
    }
    const repoPart =
      repos.length === 0
        ? 'no repos requested'
        : `${repos.length} repo${repos.length > 1 ? 's' : ''} in each (${cloned} cloned now, ${total - cloned} already present)`;
    return {
      message: `${agents.length} agent workspace${agents.length > 1 ? 's' : ''} ready; ${repoPart}`,
      output: { workspaces: agents.map((a) => workspaceRel(a.name)), repos },
    };
  },
};
