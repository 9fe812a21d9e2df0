import path from 'node:path';
import type { Command } from 'commander';
import { loadCliConfig } from './common.ts';

/** What `fleet serve` says when it stops and local gateways run on (they are meant to). */
export function gatewaysKeptMessage(count: number): string {
  const them = count === 1 ? 'it' : 'them';
  return `${count} gateway${count === 1 ? ' keeps' : 's keep'} running; \`fleet gateways stop\` stops ${them}.`;
}

export function registerGateways(program: Command): void {
  const gateways = program
    .command('gateways')
    .description("the local driver's gateways of this data dir (they outlive `fleet serve`)")
    .addHelpText('after', '\nExample:\n  fleet gateways stop\n');
  gateways
    .command('stop')
    .description('stop every local gateway of FLEET_DATA_DIR (the next `fleet serve` starts those of running fleets again)')
    .addHelpText('after', '\nExample:\n  FLEET_DATA_DIR=./.fleet fleet gateways stop\n')
    .action(async () => {
      // Loaded here, not at the top: the other commands must not pay for the driver's import.
      const { stopLocalGateways } = await import('../compute/local-gateways.ts');
      const config = loadCliConfig();
      const stopped = await stopLocalGateways(path.join(config.dataDir, 'fleets'));
      if (stopped.length === 0) {
        process.stdout.write(`No gateway runs under ${config.dataDir}.\n`);
        return;
      }
      process.stdout.write(`Stopped ${stopped.length} gateway${stopped.length === 1 ? '' : 's'}: ${stopped.join(', ')}.\n`);
      // Their fleets are still meant to run: a running control plane's reconciler starts them again.
      process.stdout.write(
        'While a `fleet serve` or `fleet worker` of this data dir runs, it starts the gateways of running fleets again; stop it first, or suspend those fleets.\n',
      );
    });
}
