import { clerkOwnerOf, type Principal } from '../auth/principal.ts';
import { findTenantForClerk } from '../db/tenants.ts';
import type { Db } from '../db/connection.ts';
import { audit } from '../db/audit.ts';
import { recordEvent } from '../db/events.ts';
import { activeRun, insertRun, type RunRow } from '../db/runs.ts';
import { canTransition, IllegalTransitionError } from '../domain/fleet.ts';
import { newId } from '../domain/ids.ts';
import type { Template } from '../domain/template.ts';
import { DEFAULT_TEMPLATE_ID, type TemplateRegistry } from '../templates/registry.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { type ProvisionBodyInput, splitRequest, type StoredSettings } from './fleet-request.ts';
import { putSecrets } from '../secrets/store.ts';
import { firstStepAffected, stepPosition } from './resume-point.ts';
import type { RunQueue } from './queue.ts';
import { applyTransition } from './transitions.ts';

/**
 * The intent side of provisioning, used by the API: record what was asked, move the fleet, create
 * the run and its job — all in one transaction, so "provisioning" and "a job exists" never
 * disagree. No provisioning work happens here.
 */
export interface ServiceDeps {
  db: Db;
  templates: TemplateRegistry;
  queue: RunQueue;
  box: SecretBox;
  /** Called after commit with a new run, so a worker in this process starts it at once. */
  offer?: (runId: string) => void;
  /**
   * Called after commit with the tenant whose fleet changed, so this replica's read cache never
   * answers with the state from before a write it just made (other replicas learn by NOTIFY).
   */
  changed?: (tenantId: string) => void;
}

export type ProvisionOutcome = { kind: 'started' | 'already-running'; fleetId: string; tenantId: string; run: RunRow };

export class RequestError extends Error {
  constructor(
    readonly code: 'conflict' | 'not_found' | 'illegal_transition' | 'invalid_input',
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The tenant a session acts for, created if missing (org tenant for an org session). */
async function ensureTenantFor(trx: Db, p: Principal, template: Template): Promise<string> {
  const found = await findTenantForClerk(trx, clerkOwnerOf(p));
  if (found) return found.id;
  const base = slugify(p.orgId ? (p.orgSlug ?? p.orgId) : p.userId);
  const taken = await trx.selectFrom('tenants').select('slug').where('slug', '=', base).executeTakeFirst();
  const slug = taken ? `${base}_${newId('tnt').slice(4, 10)}` : base;
  const id = newId('tnt');
  await trx
    .insertInto('tenants')
    .values({
      id,
      slug,
      name: p.orgId ? (p.orgSlug ?? p.orgId) : p.userId,
      plan: 'free',
      kind: p.orgId ? 'org' : 'personal',
      clerk_org_id: p.orgId,
      clerk_user_id: p.orgId ? null : p.userId,
    })
    .execute();
  await trx
    .insertInto('fleets')
    .values({
      id: newId('flt'),
      tenant_id: id,
      status: 'pending',
      template_id: template.id,
      dashboard_url: null,
      agent_specs: JSON.stringify(template.agents.map((a) => ({ name: a.name, role: a.role }))),
      repos: JSON.stringify(template.repos),
      gcp_resources: null,
    })
    .execute();
  await recordEvent(trx, id, 'status', { status: 'pending' });
  await audit(trx, { tenantId: id, actor: `user:${p.userId}`, action: 'tenant.create', detail: { slug, via: 'provision' } });
  return id;
}

export function slugify(raw: string): string {
  const s = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 50);
  return /^[a-z]/.test(s) ? s : `t_${s || 'tenant'}`;
}

/**
 * Starts provisioning the fleet of `target` (a session's tenant, created if needed, or a tenant
 * id for platform calls). While a run is active the same request answers with that run. On a
 * fleet in `error` it is "fix the settings and provision again": stored settings are updated and
 * the run resumes at the earliest step the change affects (or at the failed step).
 */
export async function requestProvision(
  deps: ServiceDeps,
  target: { principal: Principal } | { tenantId: string },
  body: ProvisionBodyInput,
  actor: string,
): Promise<ProvisionOutcome> {
  const templateFor = (current: string | undefined): Template => {
    const id = body.templateId ?? current ?? DEFAULT_TEMPLATE_ID;
    const template = deps.templates.get(id);
    if (!template)
      throw new RequestError(
        'invalid_input',
        `templateId: unknown template '${id}'; known: ${deps.templates.ids().join(', ')}`,
        'templateId',
      );
    for (const bot of body.discord?.bots ?? []) {
      if (!template.agents.some((a) => a.name === bot.agent)) {
        throw new RequestError(
          'invalid_input',
          `discord.bots: '${bot.agent}' is not an agent of template ${template.id} (${template.agents.map((a) => a.name).join(', ')})`,
          'discord.bots',
        );
      }
    }
    return template;
  };
  const outcome = await withTenantRace(() =>
    deps.db.transaction().execute(async (trx) => {
      // A new tenant's fleet starts from the requested template (validated first: a bad request
      // rolls back, leaving no tenant behind).
      const tenantId = 'principal' in target ? await ensureTenantFor(trx, target.principal, templateFor(undefined)) : target.tenantId;
      // The row lock serialises concurrent requests for one fleet: the second sees the first's run.
      const fleet = await trx.selectFrom('fleets').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
      if (!fleet) throw new RequestError('not_found', `Tenant ${tenantId} has no fleet.`);
      const running = await activeRun(trx, fleet.id);
      if (running) return { kind: 'already-running' as const, fleetId: fleet.id, tenantId, run: running };
      const template = templateFor(fleet.template_id);
      const repos = body.repos ?? template.repos;
      const again = fleet.status === 'error';
      if (!again && !canTransition(fleet.status, 'provision')) {
        throw new RequestError('illegal_transition', new IllegalTransitionError('provision', fleet.status).message);
      }
      const { settings, secrets } = splitRequest(body);
      // Provisioning a failed fleet again: what the request leaves out keeps its stored value, and
      // the steps that depend on what it changes run again (see resume-point.ts).
      const newRepos = again ? (body.repos ?? fleet.repos) : repos;
      const stored = (fleet.settings ?? {}) as StoredSettings;
      await trx
        .updateTable('fleets')
        .set({
          template_id: template.id,
          agent_specs: JSON.stringify(template.agents.map((a) => ({ name: a.name, role: a.role }))),
          repos: JSON.stringify(newRepos),
          settings: JSON.stringify(again ? { ...stored, ...settings } : settings),
        })
        .where('id', '=', fleet.id)
        .execute();
      await putSecrets(trx, deps.box, fleet.id, secrets);
      if (again) {
        const from = firstStepAffected({
          template: template.id !== fleet.template_id,
          repos: JSON.stringify(newRepos) !== JSON.stringify(fleet.repos),
          gitToken: body.gitToken !== undefined,
          discord: body.discord !== undefined,
          missionControl: body.missionControl !== undefined,
        });
        if (from)
          await trx.deleteFrom('step_checkpoints').where('fleet_id', '=', fleet.id).where('position', '>=', stepPosition(from)).execute();
      }
      await applyTransition(trx, fleet.id, again ? 'retry' : 'provision');
      const run = await insertRun(trx, fleet.id, again ? 'retry' : 'provision');
      await deps.queue.enqueue(trx, run.id);
      await audit(trx, { tenantId, actor, action: 'fleet.provision', detail: { runId: run.id, templateId: template.id, repos } });
      return { kind: 'started' as const, fleetId: fleet.id, tenantId, run };
    }),
  );
  deps.changed?.(outcome.tenantId);
  if (outcome.kind === 'started') deps.offer?.(outcome.run.id);
  return outcome;
}

/** Resumes a fleet in `error` at its failed step (completed steps keep their checkpoints). */
export async function requestRetry(deps: ServiceDeps, tenantId: string, actor: string): Promise<ProvisionOutcome> {
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const fleet = await trx.selectFrom('fleets').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
    if (!fleet) throw new RequestError('not_found', 'There is no fleet to retry: provision one first.');
    const running = await activeRun(trx, fleet.id);
    if (running) return { kind: 'already-running' as const, fleetId: fleet.id, tenantId, run: running };
    if (!canTransition(fleet.status, 'retry'))
      throw new RequestError('illegal_transition', new IllegalTransitionError('retry', fleet.status).message);
    await applyTransition(trx, fleet.id, 'retry');
    const run = await insertRun(trx, fleet.id, 'retry');
    await deps.queue.enqueue(trx, run.id);
    await audit(trx, { tenantId, actor, action: 'fleet.retry', detail: { runId: run.id } });
    return { kind: 'started' as const, fleetId: fleet.id, tenantId, run };
  });
  deps.changed?.(outcome.tenantId);
  if (outcome.kind === 'started') deps.offer?.(outcome.run.id);
  return outcome;
}

/** Two first requests of a new tenant race on its unique Clerk id: the loser tries again and finds it. */
async function withTenantRace<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: string }).code === '23505' && attempt < 3) continue;
      throw e;
    }
  }
}
