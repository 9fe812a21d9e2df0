import { Command } from 'commander';
import { ConfigError } from '../config.ts';
import { registerDevToken } from './dev-token.ts';
import { registerServe } from './serve.ts';
import { registerMigrate } from './migrate.ts';
import { registerTenants } from './tenants.ts';
import { registerWorker } from './worker.ts';

/** `fleet`: one binary for operators and for local use. */
const program = new Command('fleet').description('Agent Fleet control plane').showHelpAfterError();

registerServe(program);
registerWorker(program);
registerMigrate(program);
registerDevToken(program);
registerTenants(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  // A setting found unusable only at start (cloud credentials) exits like one refused by loadConfig.
  process.exit(e instanceof ConfigError ? 78 : 1);
});
