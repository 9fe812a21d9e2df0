import fs from 'node:fs';
import path from 'node:path';
import { stopGateway } from '../gateway/process.ts';
import { GATEWAY_SERVICE } from '../gateway/service.ts';
import { LocalHost } from '../hosts/local-host.ts';

/**
 * The gateways the local driver started under a data dir's `fleets/`. They outlive `fleet serve`
 * on purpose (they are the tenants' fleets, as VMs would be); these find and stop them without the
 * database, from the service records LocalHost keeps beside the machines.
 */
function machineNames(fleetsDir: string): string[] {
  const names = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')) : []);
  return [...new Set([...names(fleetsDir), ...names(path.join(fleetsDir, '.services'))])].sort();
}

/** The machines (tenant slugs) of `fleetsDir` whose gateway runs now. */
export async function runningLocalGateways(fleetsDir: string): Promise<string[]> {
  const running: string[] = [];
  for (const name of machineNames(fleetsDir)) {
    const status = await new LocalHost(path.join(fleetsDir, name)).serviceStatus(GATEWAY_SERVICE).catch(() => ({ running: false }));
    if (status.running) running.push(name);
  }
  return running;
}

/** Stops every running gateway of `fleetsDir`; resolves with the machines whose gateway it stopped. */
export async function stopLocalGateways(fleetsDir: string): Promise<string[]> {
  const stopped: string[] = [];
  for (const name of await runningLocalGateways(fleetsDir)) {
    await stopGateway(new LocalHost(path.join(fleetsDir, name)));
    stopped.push(name);
  }
  return stopped;
}
