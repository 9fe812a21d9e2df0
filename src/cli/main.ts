import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../observability/logger.ts';
import { registerDevToken } from './dev-token.ts';
import { registerServe } from './serve.ts';
import { registerMigrate } from './migrate.ts';
import { registerTenants } from './tenants.ts';
import { registerWorker } from './worker.ts';

/** `fleet`: one binary for operators and for local use. */
const program = new Command('fleet').description('Agent Fleet control plane').showHelpAfterError();

export const loadCliConfig = () => {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
};
export const cliLogger = (level: string) => createLogger(level);
export const parsePositiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

registerServe(program);
registerWorker(program);
registerMigrate(program);
registerDevToken(program);
registerTenants(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
