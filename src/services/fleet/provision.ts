import { dropCheckpointsFrom } from '../../db/checkpoints.ts';
import { insertFleet, lockFleetOfTenant, updateFleetRequest } from '../../db/fleets.ts';
import { activeRun, lastEndedRun } from '../../db/runs.ts';
import { putSecrets } from '../../db/secrets.ts';
import { isUniqueViolation } from '../../db/tenants.ts';
import { fleetAgentsOf, illegalVerbMessage, verbAllowed } from '../../domain/fleet.ts';
import { type StoredSettings, splitSettings } from '../../domain/fleet-settings.ts';
import { firstStepAffected, stepPosition } from '../../pipeline/resume-point.ts';
import { DEFAULT_TEMPLATE_ID } from '../../templates/registry.ts';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { parseInput, ServiceError } from '../errors.ts';
import { ensureTenantForSession } from '../tenants/for-session.ts';
import { assertMayChangeFleet, platformTenant } from './access.ts';
import { assertPlanAllows, assertRunRate, planOf } from './plan-limits.ts';
import { ProvisionInput } from './provision-input.ts';
import { assertCallableUrl, checkedTemplate } from './settings-checks.ts';
import { asksNothingNew } from './same-request.ts';
import { busyMessage } from './fleet-guard.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

/**
 * Starts provisioning the caller's fleet (a session's tenant is created if needed; the platform
 * names an existing tenant; a tenant whose fleet was deprovisioned gets a new one). While a
 * provision run is active the same request answers with that run, and one asking for anything
 * else is a 409 naming it (the run would drop it otherwise). On a fleet in `error` it is "fix
 * the settings and provision again": stored settings are updated and the run resumes at the
 * earliest step the change affects (or at the failed step).
 */
export async function provisionFleet(ctx: ServiceContext, caller: Caller, raw: ProvisionInput = {}): Promise<RunOutcome> {
  const input = parseInput(ProvisionInput, raw);
  if (input.missionControl) assertCallableUrl(ctx, 'missionControl.url', input.missionControl.url);
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const platformTenantId = 'principal' in caller ? undefined : await platformTenant(ctx.db, caller.tenant);
  const templateFor = (current: string | undefined) =>
    checkedTemplate(ctx, input.templateId ?? current ?? DEFAULT_TEMPLATE_ID, input.discord?.bots ?? []);
  const outcome = await retryOnTenantRace(() =>
    ctx.db.transaction().execute(async (trx) => {
      // A new tenant's fleet starts from the requested template (validated first: a bad request
      // rolls back, leaving no tenant behind).
      const tenantId =
        'principal' in caller ? await ensureTenantForSession(trx, caller.principal, templateFor(undefined)) : platformTenantId!;
      // Deprovisioned before: the tenant starts over with a new, clean fleet.
      // (The lock is read again only after an insert: one round trip less on the usual path.)
      let fleet = await lockFleetOfTenant(trx, tenantId);
      if (!fleet) {
        await insertFleet(trx, tenantId, templateFor(undefined));
        fleet = await lockFleetOfTenant(trx, tenantId);
      }
      if (!fleet) throw new ServiceError('not_found', `Tenant ${tenantId} has no fleet.`);
      const running = await activeRun(trx, fleet.id);
      if (running) {
        if (running.kind !== 'provision') throw new ServiceError('illegal_transition', busyMessage('provision', fleet.status, running));
        if (await asksNothingNew(trx, ctx.box, fleet, input))
          return { kind: 'already-running' as const, fleetId: fleet.id, tenantId, run: running };
        throw new ServiceError(
          'illegal_transition',
          `Cannot provision with new settings: provision run ${running.id} is ${running.status} and they would not be applied. ` +
            'Wait for it to end (or cancel it), then provision again with them.',
        );
      }
      const template = templateFor(fleet.template_id);
      if (!verbAllowed(fleet.status, 'provision'))
        throw new ServiceError('illegal_transition', illegalVerbMessage('provision', fleet.status));
      const again = fleet.status === 'error';
      // In error after a suspend, resume or deprovision failed: provisioning would only replay
      // the build's checkpoints and call it active; that run is what to retry.
      const failed = again ? await lastEndedRun(trx, fleet.id) : undefined;
      if (failed && failed.kind !== 'provision') {
        throw new ServiceError(
          'illegal_transition',
          `Cannot provision: fleet is in error after its ${failed.kind} run ${failed.id} failed; allowed: retry, deprovision.`,
        );
      }
      const { settings, secrets } = splitSettings(input);
      // Provisioning a failed fleet again: what the request leaves out keeps its stored value, and
      // the steps that depend on what it changes run again (see resume-point.ts).
      const repos = again ? (input.repos ?? fleet.repos) : (input.repos ?? template.repos);
      const plan = await planOf(ctx, trx, tenantId);
      assertPlanAllows(plan, template, repos);
      await assertRunRate(trx, plan, fleet.id);
      const stored = (fleet.settings ?? {}) as StoredSettings;
      await updateFleetRequest(trx, fleet.id, {
        templateId: template.id,
        agents: fleetAgentsOf(template),
        repos,
        settings: again ? { ...stored, ...settings } : settings,
        // A fleet keeps the driver of its first provision, whatever the default becomes later.
        computeDriver: fleet.status === 'pending' ? ctx.computeDriver : undefined,
      });
      await putSecrets(trx, ctx.box, fleet.id, secrets);
      if (again) {
        const from = firstStepAffected({
          template: template.id !== fleet.template_id,
          repos: JSON.stringify(repos) !== JSON.stringify(fleet.repos),
          gitToken: input.gitToken !== undefined,
          discord: input.discord !== undefined,
          missionControl: input.missionControl !== undefined,
        });
        if (from) await dropCheckpointsFrom(trx, fleet.id, stepPosition(from));
      }
      return startRun(trx, ctx, {
        fleet,
        tenantId,
        verb: 'provision',
        kind: 'provision',
        retry: again,
        actor: actorOf(caller),
        detail: { templateId: template.id, repos: input.repos ?? template.repos },
      });
    }),
  );
  return announce(ctx, outcome);
}

/** Two first requests of a new tenant race on its unique Clerk id: the loser tries again and finds it. */
async function retryOnTenantRace<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (isUniqueViolation(e) && attempt < 3) continue;
      throw e;
    }
  }
}
