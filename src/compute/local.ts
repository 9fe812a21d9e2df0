import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { LocalHost } from '../hosts/local-host.ts';
import { freeLoopbackPort } from '../util/free-port.ts';
import {
  type AbsenceCheck,
  type ComputeDriver,
  type CreateMachineRequest,
  type LocalMachine,
  type Machine,
  StillPresentError,
} from './driver.ts';

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

  /** The directory and the service records LocalHost keeps beside it (the caller stopped the services). */
  async delete(machine: Machine): Promise<void> {
    fs.rmSync(machine.root, { recursive: true, force: true });
    fs.rmSync(this.serviceRecordsOf(machine), { recursive: true, force: true });
  }

  async verifyDeleted(machine: Machine): Promise<AbsenceCheck[]> {
    const shown = `fleets/${path.basename(machine.root)}`;
    if (fs.existsSync(machine.root)) throw new StillPresentError(`machine directory ${shown}`, 'it exists');
    if (fs.existsSync(this.serviceRecordsOf(machine))) throw new StillPresentError(`service records of ${shown}`, 'they exist');
    if (await portAccepts(machine.gatewayPort)) {
      throw new StillPresentError(`gateway port ${machine.gatewayPort}`, 'it accepts connections on 127.0.0.1');
    }
    return [
      { resource: `machine directory ${shown}`, verifiedBy: 'directory absent' },
      { resource: `service records of ${shown}`, verifiedBy: 'directory absent' },
      { resource: `gateway on port ${machine.gatewayPort}`, verifiedBy: 'port closed: connection refused on 127.0.0.1' },
    ];
  }

  /** Where LocalHost keeps the records of the machine's services (src/hosts/local-host.ts). */
  private serviceRecordsOf(machine: Machine): string {
    return path.join(path.dirname(machine.root), '.services', path.basename(machine.root));
  }

  async openHost(machine: Machine): Promise<LocalHost> {
    return new LocalHost(machine.root);
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
