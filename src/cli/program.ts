import { Command } from 'commander';
import { registerDevToken } from './dev-token.ts';
import { registerEvents } from './events.ts';
import { registerGateways } from './gateways.ts';
import { registerLifecycle } from './lifecycle.ts';
import { registerLogin } from './login.ts';
import { registerMigrate } from './migrate.ts';
import { registerProvision } from './provision.ts';
import { registerReconfigure } from './reconfigure.ts';
import { registerReprovision } from './reprovision.ts';
import { registerServe } from './serve.ts';
import { registerStatus } from './status.ts';
import { registerTemplates } from './templates.ts';
import { registerTenants } from './tenants.ts';
import { registerWorker } from './worker.ts';

/**
 * `fleet`: one binary for operators and for local use. The local commands (serve, worker,
 * migrate, dev token) run the control plane here; every other command is a client of its HTTP
 * API and never touches the database.
 */
export function buildProgram(): Command {
  const program = new Command('fleet')
    .description('Agent Fleet: provision and watch OpenClaw agent fleets')
    .showHelpAfterError('(add --help for usage and examples)')
    // Commander's errors become exceptions, so a usage error exits 2 like ours (see EXIT).
    .exitOverride();

  registerLogin(program);
  registerStatus(program);
  registerProvision(program);
  registerLifecycle(program);
  registerReconfigure(program);
  registerReprovision(program);
  registerEvents(program);
  registerTemplates(program);
  registerTenants(program);
  registerServe(program);
  registerWorker(program);
  registerMigrate(program);
  registerDevToken(program);
  registerGateways(program);

  program.addHelpText(
    'after',
    '\nExample:\n  fleet login --dev --user user_alice --org org_acme --role admin\n  fleet provision --template standard-7-agent --repo acme/api --watch\n',
  );
  return program;
}
