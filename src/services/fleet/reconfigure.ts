import { isDeepStrictEqual } from 'node:util';
import { dropCheckpointsFrom } from '../../db/checkpoints.ts';
import { updateFleetRequest } from '../../db/fleets.ts';
import { lastEndedRun } from '../../db/runs.ts';
import { deleteSecrets, getSecrets, putSecrets } from '../../db/secrets.ts';
import { fleetAgentsOf } from '../../domain/fleet.ts';
import { SECRET, type StoredSettings, splitSettings } from '../../domain/fleet-settings.ts';
import { firstStepAffected, stepPosition } from '../../pipeline/resume-point.ts';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { parseInput, ServiceError } from '../errors.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { lockedFleetFor } from './fleet-guard.ts';
import { assertPlanAllows, assertRunRate, planOf } from './plan-limits.ts';
import { ReconfigureInput } from './reconfigure-input.ts';
import { assertCallableUrl, checkedTemplate } from './settings-checks.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

const NO_FLEET = 'There is no fleet to reconfigure: provision one first.';

/**
 * Changes a built fleet's settings (template, repos, Discord, Mission Control, git token): checks
 * them as provision does, stores them, and starts a provision run that re-does only the steps the
 * change affects (its earlier checkpoints are kept; pipeline/resume-point.ts). `null` removes
 * Discord or Mission Control and destroys its secrets. While any run is at work the answer is a
 * 409 naming it: a change is never dropped.
 */
export async function reconfigureFleet(ctx: ServiceContext, caller: Caller, raw: unknown): Promise<RunOutcome> {
  const input = parseInput(ReconfigureInput, raw);
  if (input.missionControl) assertCallableUrl(ctx, 'missionControl.url', input.missionControl.url);
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const { fleet } = await lockedFleetFor(trx, tenantId, 'reconfigure', { noFleet: NO_FLEET });
    if (fleet.status === 'error') {
      // After a failed suspend, resume or deprovision the build is not what failed: that run is what to retry.
      const failed = await lastEndedRun(trx, fleet.id);
      if (failed && failed.kind !== 'provision') {
        throw new ServiceError(
          'illegal_transition',
          `Cannot reconfigure: fleet is in error after its ${failed.kind} run ${failed.id} failed; allowed: retry, deprovision.`,
        );
      }
    }
    const stored = (fleet.settings ?? {}) as StoredSettings;
    const next = nextSettings(stored, input);
    const template = checkedTemplate(
      ctx,
      input.templateId ?? fleet.template_id,
      next.discord?.bots ?? [],
      input.discord ? 'discord.bots' : 'templateId',
    );
    const repos = input.repos ?? fleet.repos;
    const plan = await planOf(ctx, trx, tenantId);
    assertPlanAllows(plan, template, repos);

    const { secrets } = splitSettings({
      discord: input.discord ?? undefined,
      missionControl: input.missionControl ?? undefined,
      gitToken: input.gitToken,
    });
    const current = await getSecrets(trx, ctx.box, fleet.id);
    const stale = staleSecretNames(stored, next);
    const secretsChange = (names: (n: string) => boolean) =>
      stale.some(names) || Object.entries(secrets).some(([n, v]) => names(n) && current[n] !== v);
    const isDiscord = (n: string) => n.startsWith(SECRET.discordBotToken(''));
    const changed = {
      template: template.id !== fleet.template_id,
      repos: !isDeepStrictEqual(repos, fleet.repos),
      gitToken: secretsChange((n) => n === SECRET.gitToken),
      discord: !isDeepStrictEqual(next.discord, stored.discord) || secretsChange(isDiscord),
      missionControl:
        !isDeepStrictEqual(next.missionControl, stored.missionControl) || secretsChange((n) => n === SECRET.missionControlToken),
    };
    const from = firstStepAffected(changed);
    if (!from) {
      throw new ServiceError('invalid_input', 'Nothing to reconfigure: the request matches the fleet’s settings.', '(body)');
    }
    await assertRunRate(trx, plan, fleet.id);
    await updateFleetRequest(trx, fleet.id, { templateId: template.id, agents: fleetAgentsOf(template), repos, settings: next });
    await deleteSecrets(trx, fleet.id, stale);
    await putSecrets(trx, ctx.box, fleet.id, secrets);
    await dropCheckpointsFrom(trx, fleet.id, stepPosition(from));
    return startRun(trx, ctx, {
      fleet,
      tenantId,
      verb: 'reconfigure',
      kind: 'provision',
      transition: 'reconfigure',
      actor: actorOf(caller),
      detail: { changed: Object.keys(changed).filter((k) => changed[k as keyof typeof changed]), from },
    });
  });
  return announce(ctx, outcome);
}

/** The stored settings after the request: what it leaves out is kept, `null` removes. */
function nextSettings(stored: StoredSettings, input: ReconfigureInput): StoredSettings {
  const given = splitSettings({
    discord: input.discord ?? undefined,
    missionControl: input.missionControl ?? undefined,
    gitToken: input.gitToken,
  }).settings;
  const next: StoredSettings = { ...stored };
  if (input.discord === null) delete next.discord;
  else if (input.discord) next.discord = given.discord;
  if (input.missionControl === null) delete next.missionControl;
  else if (input.missionControl) next.missionControl = given.missionControl;
  if (input.gitToken !== undefined) next.gitTokenSet = true;
  return next;
}

/** The secrets the new settings no longer use: a removed integration's, a bot whose agent is gone. */
function staleSecretNames(stored: StoredSettings, next: StoredSettings): string[] {
  const keep = new Set((next.discord?.bots ?? []).map((b) => b.agent));
  const names = (stored.discord?.bots ?? []).filter((b) => !keep.has(b.agent)).map((b) => SECRET.discordBotToken(b.agent));
  if (stored.missionControl && !next.missionControl) names.push(SECRET.missionControlToken);
  return names;
}
