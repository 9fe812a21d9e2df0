import { type Command, Option } from 'commander';
import { FLEET_STATUSES } from '../domain/fleet.ts';
import { PLANS } from '../domain/plans.ts';
import { call } from './client/api-call.ts';
import { usageError } from './client/cli-error.ts';
import { printJson, type ReadOptions, withExample, withJson, withUrl } from './client/command-options.ts';
import { platformConnection } from './client/connection.ts';
import { formatFleet } from './client/fleet-view.ts';
import type { Tenant } from './client/fleet-types.ts';
import { addProvisionFlags, type ProvisionFlags, provisionBody, withFlagHint } from './client/provision-flags.ts';
import { secretValue } from './client/secret-value.ts';
import { formatTable } from './client/table.ts';

/** Operator commands over the platform routes (X-Platform-Token). Nothing here reads the database. */
type PlatformOptions = ReadOptions & { platformToken?: string };

const platform = (cmd: Command): Command =>
  withUrl(cmd).option(
    '--platform-token <token>',
    'the platform token (or @<file>, or -; default: FLEET_PLATFORM_TOKEN, else the stored one)',
  );

const connect = (opts: PlatformOptions) =>
  platformConnection({ url: opts.url, platformToken: opts.platformToken && secretValue(opts.platformToken, '--platform-token') });

// The platform routes' 401 is about the platform token, never about `fleet login`'s session.
const PLATFORM = {
  401: "Use this server's platform token: FLEET_PLATFORM_TOKEN where it runs (in dev, `fleet serve` prints it and keeps it in <data dir>/platform-token).",
};
const NOT_FOUND = { ...PLATFORM, 404: 'List the tenants with `fleet tenants list`.' };

const parseLimit = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 200) throw usageError(`--limit must be a whole number from 1 to 200, got '${v}'`);
  return n;
};

export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('operator commands: tenants and their fleets (platform token)');
  withExample(
    tenants,
    'export FLEET_PLATFORM_TOKEN=$(cat .fleet/platform-token)',
    'fleet tenants list --status error',
    'fleet tenants show acme',
  );

  const list = platform(
    tenants
      .command('list', { isDefault: true })
      .description('list tenants, oldest first, with their fleet status')
      // The API's own lists: a value it would refuse is refused here, before anything is sent.
      .addOption(new Option('--status <status>', 'only fleets in this status').choices(FLEET_STATUSES))
      .addOption(new Option('--plan <plan>', 'only tenants on this plan').choices(PLANS))
      .option('--clerk-org <orgId>', 'only the tenant of this Clerk organisation')
      .option('--template <id>', 'only tenants whose fleet uses this template (see `fleet templates`)')
      .option('--limit <n>', 'tenants per page (1-200)', parseLimit, 50)
      .option('--cursor <cursor>', 'the next page, as the previous page printed it'),
  );
  withJson(list, 'print the API answer as JSON');
  withExample(list, 'fleet tenants list --status error', 'fleet tenants list --plan pro --json | jq -r ".tenants[].tenantId"');
  list.action(
    async (
      opts: PlatformOptions & {
        status?: Tenant['status'];
        plan?: (typeof PLANS)[number];
        clerkOrg?: string;
        template?: string;
        limit: number;
        cursor?: string;
      },
    ) => {
      const conn = connect(opts);
      const query = {
        status: opts.status ?? undefined,
        plan: opts.plan,
        clerkOrgId: opts.clerkOrg,
        templateId: opts.template,
        limit: opts.limit,
        cursor: opts.cursor,
      };
      const body = await call(conn.url, conn.api.GET('/api/tenants', { params: { query } }), PLATFORM);
      if (opts.json) return printJson(body);
      if (body.tenants.length === 0) {
        process.stdout.write('No tenants match.\n');
        return;
      }
      const rows = body.tenants.map((t) => [
        t.tenantId,
        t.id,
        t.status ?? '-',
        t.plan,
        t.templateId ?? '-',
        t.clerkOrgId ?? t.clerkUserId ?? '-',
      ]);
      process.stdout.write(`${formatTable(['TENANT', 'ID', 'STATUS', 'PLAN', 'TEMPLATE', 'OWNER'], rows)}\n`);
      if (body.nextCursor) process.stderr.write(`More: fleet tenants list --cursor ${body.nextCursor}\n`);
    },
  );

  const show = platform(
    tenants.command('show').description('one tenant with its fleet and provisioning steps').argument('<tenantId>', 'tenantId or tnt_… id'),
  );
  withJson(show, 'print the API answer as JSON');
  withExample(show, 'fleet tenants show acme');
  show.action(async (tenantId: string, opts: PlatformOptions) => {
    const conn = connect(opts);
    const body = await call(conn.url, conn.api.GET('/api/tenants/{tenantId}', { params: { path: { tenantId } } }), NOT_FOUND);
    if (opts.json) return printJson(body);
    const t = body.tenant;
    const head = [
      `tenant    ${t.tenantId} (${t.id}) ${t.name}`,
      `plan      ${t.plan}`,
      `owner     ${t.kind === 'org' ? `organisation ${t.clerkOrgId}` : `user ${t.clerkUserId}`}`,
    ].join('\n');
    process.stdout.write(`${head}\n${body.fleet ? formatFleet(body.fleet) : 'no fleet'}\n`);
  });

  const create = platform(
    tenants
      .command('create')
      .description('create a tenant and its pending fleet (the same request again answers the existing tenant)')
      .requiredOption('--tenant-id <id>', 'snake_case id, e.g. acme_corp')
      .requiredOption('--name <name>', 'display name')
      .addOption(new Option('--plan <plan>', 'billing plan').choices(PLANS))
      .option('--clerk-org <orgId>', 'the Clerk organisation that owns it (or --clerk-user)')
      .option('--clerk-user <userId>', 'the Clerk user who owns it (a personal tenant)')
      .option('--template <id>', 'fleet template'),
  );
  withJson(create, 'print the API answer as JSON');
  withExample(create, 'fleet tenants create --tenant-id acme --name "Acme" --clerk-org org_acme --plan pro');
  create.action(
    async (
      opts: PlatformOptions & {
        tenantId: string;
        name: string;
        plan?: (typeof PLANS)[number];
        clerkOrg?: string;
        clerkUser?: string;
        template?: string;
      },
    ) => {
      const conn = connect(opts);
      const body = await call(
        conn.url,
        conn.api.POST('/api/tenants', {
          body: {
            tenantId: opts.tenantId,
            name: opts.name,
            plan: opts.plan,
            clerkOrgId: opts.clerkOrg,
            clerkUserId: opts.clerkUser,
            templateId: opts.template,
          },
        }),
        { ...PLATFORM, 409: 'That tenant id or Clerk owner already belongs to another tenant: `fleet tenants list`.' },
      );
      if (opts.json) return printJson(body);
      process.stdout.write(`Tenant ${body.tenant.tenantId} (${body.tenant.id}): fleet ${body.tenant.status ?? '-'}.\n`);
    },
  );

  const provision = platform(
    addProvisionFlags(
      tenants.command('provision').description("provision a tenant's fleet").argument('<tenantId>', 'tenantId or tnt_… id'),
    ),
  );
  withJson(provision, 'print the API answer as JSON');
  withExample(provision, 'fleet tenants provision acme --template standard-7-agent --repo acme/api');
  provision.action(async (tenantId: string, opts: PlatformOptions & ProvisionFlags) => {
    const conn = connect(opts);
    const body = provisionBody(opts);
    const accepted = await call(
      conn.url,
      conn.api.POST('/api/tenants/{tenantId}/provision', { params: { path: { tenantId } }, body }),
      NOT_FOUND,
    ).catch((e) => {
      throw withFlagHint(e);
    });
    if (opts.json) return printJson(accepted);
    const what = accepted.started ? `Run ${accepted.runId} started` : `Run ${accepted.runId} was already at work`;
    process.stdout.write(`${what}: fleet ${accepted.fleet.status}. Follow it with: fleet tenants show ${tenantId}\n`);
  });

  const retry = platform(
    tenants
      .command('retry')
      .description("resume a tenant's failed provisioning at the failed step")
      .argument('<tenantId>', 'tenantId or tnt_… id'),
  );
  withJson(retry, 'print the API answer as JSON');
  withExample(retry, 'fleet tenants retry acme');
  retry.action(async (tenantId: string, opts: PlatformOptions) => {
    const conn = connect(opts);
    const accepted = await call(conn.url, conn.api.POST('/api/tenants/{tenantId}/retry', { params: { path: { tenantId } } }), {
      ...NOT_FOUND,
      409: 'Only a fleet in `error` can be retried: `fleet tenants show <tenantId>`.',
    });
    if (opts.json) return printJson(accepted);
    process.stdout.write(
      `Run ${accepted.runId} ${accepted.started ? 'started' : 'was already at work'}: fleet ${accepted.fleet.status}.\n`,
    );
  });
}
