import { CommanderError } from 'commander';
import { ConfigError } from '../config.ts';
import { CliError, EXIT } from './client/cli-error.ts';
import { buildProgram } from './program.ts';

/** The `fleet` binary: runs the command, and turns every failure into a message, a hint and an exit code. */
buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof CommanderError) {
      // Help and version are not errors; commander has already printed what was wrong otherwise.
      process.exit(['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(e.code) ? e.exitCode : EXIT.usage);
    }
    if (e instanceof CliError) {
      process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      process.exit(e.exitCode);
    }
    console.error(e instanceof Error ? e.message : String(e));
    // A setting found unusable only at start (cloud credentials) exits like one refused by loadConfig.
    process.exit(e instanceof ConfigError ? 78 : 1);
  });
