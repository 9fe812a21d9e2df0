import fs from 'node:fs';
import path from 'node:path';
import { LocalHost } from '../hosts/local-host.ts';
import { freeLoopbackPort } from '../util/free-port.ts';
import type { ComputeDriver, CreateMachineRequest, LocalMachine, Machine } from './driver.ts';

/**
 * The local compute driver: a "machine" is a directory `fleets/<tenant slug>/` under the data dir
 * plus the processes started in it, on this host, reachable on loopback. It has no zone, and
 * nothing to stop or start but its processes (the gateway, stopped through its host).
 */
export class LocalDriver implements ComputeDriver {
  readonly name = 'local' as const;

  constructor(private readonly fleetsDir: string) {}

  /** Creates (or finds) the tenant's machine directory. Idempotent: same slug, same machine. */
  async createMachine(req: CreateMachineRequest): Promise<LocalMachine> {
    // The slug was validated at input (snake_case), so it cannot climb out of fleetsDir; check anyway.
    const root = path.resolve(this.fleetsDir, req.tenantSlug);
    if (path.dirname(root) !== path.resolve(this.fleetsDir))
      throw new Error(`refusing machine path outside ${this.fleetsDir}: ${req.tenantSlug}`);
    fs.mkdirSync(root, { recursive: true, mode: 0o750 });
    const gatewayPort = await freeLoopbackPort();
    return { driver: 'local', vmName: `fleet-${req.tenantSlug.replace(/_/g, '-')}`, ip: '127.0.0.1', root, gatewayPort };
  }

  async describe(machine: Machine) {
    return { state: fs.existsSync(machine.root) ? ('running' as const) : ('missing' as const), ip: machine.ip };
  }

  async stop(): Promise<void> {}

  async start(): Promise<void> {}

  async delete(machine: Machine): Promise<void> {
    fs.rmSync(machine.root, { recursive: true, force: true });
  }

  async openHost(machine: Machine): Promise<LocalHost> {
    return new LocalHost(machine.root);
  }
}
