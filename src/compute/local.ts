import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TerminalError } from '../domain/step-errors.ts';
import { LocalHost } from '../hosts/local-host.ts';
import { ensureUser, fleetUserName, lookupUser, type OsUser, removeUser, warmUserName } from '../hosts/os-users.ts';
import { freeLoopbackPort } from '../util/free-port.ts';
import {
  type AbsenceCheck,
  type ComputeDriver,
  type CreateMachineRequest,
  type LocalMachine,
  type Machine,
  type MachineOwners,
  type OrphanMachine,
  StillPresentError,
} from './driver.ts';

/**
 * How the local driver keeps tenants apart. `users`: each fleet's machine belongs to an OS user of
 * its own and everything in it runs as that user (needs root). `shared`: one trust domain, every
 * gateway runs as the control plane's user and can read what it can (a developer's laptop); in
 * production it then holds one tenant only.
 */
export type LocalIsolation = 'users' | 'shared';

export interface LocalDriverOptions {
  isolation: LocalIsolation;
  /** With `shared` isolation, production refuses a second tenant's machine. */
  production?: boolean;
}

/**
 * The local compute driver: a "machine" is a directory `fleets/<tenant slug>/` under the data dir
 * plus the processes started in it, on this host, reachable on loopback. It has no zone, and
 * nothing to stop or start but its processes (the gateway, stopped through its host).
 */
export class LocalDriver implements ComputeDriver {
  readonly name = 'local' as const;

  constructor(
    private readonly fleetsDir: string,
    private readonly opts: LocalDriverOptions = { isolation: 'shared' },
  ) {}

  /** Creates (or finds) the tenant's machine directory. Idempotent: same slug, same machine. */
  async createMachine(req: CreateMachineRequest): Promise<LocalMachine> {
    // The slug was validated at input (snake_case), so it cannot climb out of fleetsDir; check anyway.
    const root = path.resolve(this.fleetsDir, req.tenantSlug);
    if (path.dirname(root) !== path.resolve(this.fleetsDir))
      throw new Error(`refusing machine path outside ${this.fleetsDir}: ${req.tenantSlug}`);
    let osUser: OsUser | undefined;
    if (this.opts.isolation === 'users') {
      osUser = ensureUser(fleetUserName(req.tenantSlug));
      this.makeTraversable();
      this.makeOwnedRoot(root, osUser);
    } else {
      this.refuseSecondTenant(req.tenantSlug);
      fs.mkdirSync(root, { recursive: true, mode: 0o750 });
    }
    const gatewayPort = await freeLoopbackPort();
    return {
      driver: 'local',
      vmName: `fleet-${req.tenantSlug.replace(/_/g, '-')}`,
      ip: '127.0.0.1',
      root,
      gatewayPort,
      ...(osUser ? { osUser: osUser.name } : {}),
    };
  }

  /**
   * Whether pooled machines may be made: not in production without OS users, where this driver
   * holds one tenant only (a pooled machine would be a second tenant's way around that).
   */
  get poolsMachines(): boolean {
    return !(this.opts.isolation === 'shared' && this.opts.production);
  }

  /**
   * A machine for the warm pool, before any tenant, as it will be: `fleets/.warm/<id>/` (a dot
   * directory, so orphan listing never takes it for a tenant's) with a fresh OS user of its own
   * under `users` isolation. Nothing is made yet: the pool records the plan first and then makes
   * it (makeWarmMachine), so a crash in between leaves a row the pool reaps, never a directory
   * or a user nobody knows of. The fleet that claims it gets this machine, user and all, so no
   * two tenants ever share a user. `id` is [a-z0-9_]: it names the directory and the user.
   */
  async planWarmMachine(id: string): Promise<LocalMachine> {
    if (!/^[a-z0-9_]{1,40}$/.test(id)) throw new Error(`bad warm machine id: ${id}`);
    return {
      driver: 'local',
      vmName: `warm-${id.replace(/_/g, '-')}`,
      ip: '127.0.0.1',
      root: path.join(this.fleetsDir, '.warm', id),
      gatewayPort: await freeLoopbackPort(),
      ...(this.opts.isolation === 'users' ? { osUser: warmUserName(id) } : {}),
    };
  }

  /** Makes what planWarmMachine planned: its directory and, under `users` isolation, its OS user. */
  async makeWarmMachine(planned: LocalMachine): Promise<void> {
    const warmDir = path.dirname(planned.root);
    if (planned.osUser) {
      const osUser = ensureUser(planned.osUser);
      this.makeTraversable();
      fs.mkdirSync(warmDir, { recursive: true, mode: 0o711 });
      fs.chmodSync(warmDir, 0o711);
      this.makeOwnedRoot(planned.root, osUser);
    } else {
      fs.mkdirSync(planned.root, { recursive: true, mode: 0o750 });
    }
  }

  async describe(machine: Machine) {
    return { state: fs.existsSync(machine.root) ? ('running' as const) : ('missing' as const), ip: machine.ip };
  }

  async stop(): Promise<void> {}

  async start(): Promise<void> {}

  /**
   * The directory, the service records LocalHost keeps beside it (the caller stopped the services)
   * and the fleet's OS user, with whatever still runs as it.
   */
  async delete(machine: Machine): Promise<void> {
    const user = machine.driver === 'local' && machine.osUser ? lookupUser(machine.osUser) : undefined;
    if (user) removeUser(user);
    fs.rmSync(machine.root, { recursive: true, force: true });
    fs.rmSync(this.serviceRecordsOf(machine), { recursive: true, force: true });
  }

  async verifyDeleted(machine: Machine): Promise<AbsenceCheck[]> {
    // As the operator finds it under the data dir: `fleets/<slug>`, or `fleets/.warm/<id>` for a
    // machine that came from the warm pool.
    const shown = path.relative(path.dirname(path.resolve(this.fleetsDir)), machine.root);
    if (fs.existsSync(machine.root)) throw new StillPresentError(`machine directory ${shown}`, 'it exists');
    if (fs.existsSync(this.serviceRecordsOf(machine))) throw new StillPresentError(`service records of ${shown}`, 'they exist');
    if (await portAccepts(machine.gatewayPort)) {
      throw new StillPresentError(`gateway port ${machine.gatewayPort}`, 'it accepts connections on 127.0.0.1');
    }
    const osUser = machine.driver === 'local' ? machine.osUser : undefined;
    if (osUser && lookupUser(osUser)) throw new StillPresentError(`OS user ${osUser}`, 'it is still in /etc/passwd');
    return [
      { resource: `machine directory ${shown}`, verifiedBy: 'directory absent' },
      { resource: `service records of ${shown}`, verifiedBy: 'directory absent' },
      { resource: `gateway on port ${machine.gatewayPort}`, verifiedBy: 'port closed: connection refused on 127.0.0.1' },
      ...(osUser ? [{ resource: `OS user ${osUser}`, verifiedBy: 'absent from /etc/passwd (its processes were killed first)' }] : []),
    ];
  }

  /**
   * Machine directories and service records (a gateway may run on after its directory was
   * removed) named for a tenant slug that no fleet has.
   */
  async listOrphans(owners: MachineOwners): Promise<OrphanMachine[]> {
    const names = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')) : []);
    const slugs = new Set([...names(this.fleetsDir), ...names(path.join(this.fleetsDir, '.services'))]);
    return [...slugs]
      .filter((slug) => !owners.tenantSlugs.has(slug))
      .sort()
      .map((slug) => {
        const osUser = this.opts.isolation === 'users' ? lookupUser(fleetUserName(slug))?.name : undefined;
        const machine: LocalMachine = {
          driver: 'local',
          vmName: `fleet-${slug.replace(/_/g, '-')}`,
          ip: '127.0.0.1',
          root: path.join(this.fleetsDir, slug),
          gatewayPort: 0,
          ...(osUser ? { osUser } : {}),
        };
        return { machine, where: `fleets/${slug}` };
      });
  }

  /** Where LocalHost keeps the records of the machine's services (src/hosts/local-host.ts). */
  private serviceRecordsOf(machine: Machine): string {
    return path.join(path.dirname(machine.root), '.services', path.basename(machine.root));
  }

  async openHost(machine: Machine): Promise<LocalHost> {
    if (machine.driver !== 'local' || !machine.osUser) return new LocalHost(machine.root);
    const owner = lookupUser(machine.osUser);
    if (!owner) {
      throw new TerminalError(
        `The OS user ${machine.osUser} of this fleet's machine is gone (removed outside Agent Fleet); the fleet cannot run without it. Deprovision and provision again.`,
      );
    }
    return new LocalHost(machine.root, { owner });
  }

  /**
   * Fleet users must reach their own machine through the data dir without reading it: the data
   * dir and fleets/ get the execute bit for others and nothing more (its secrets are mode 600).
   */
  private makeTraversable(): void {
    fs.mkdirSync(this.fleetsDir, { recursive: true, mode: 0o711 });
    for (const dir of [this.fleetsDir, path.dirname(this.fleetsDir)]) {
      const st = fs.statSync(dir);
      // Never narrow a shared directory (a data dir set to /tmp, say): only one that is ours alone.
      if (st.uid !== process.getuid?.() || (st.mode & 0o1000) !== 0) continue;
      fs.chmodSync(dir, (st.mode & 0o777 & ~0o066) | 0o011);
    }
  }

  /** A machine's directory, the fleet user's alone (mode 700), and proof that the user reaches it. */
  private makeOwnedRoot(root: string, user: OsUser): void {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    fs.chownSync(root, user.uid, user.gid);
    fs.chmodSync(root, 0o700);
    this.checkReachable(root, user);
  }

  private checkReachable(root: string, user: OsUser): void {
    const probe = spawnSync('/bin/sh', ['-c', 'test -r "$1" && test -w "$1" && test -x "$1"', 'sh', root], {
      uid: user.uid,
      gid: user.gid,
      env: { PATH: '/usr/bin:/bin' },
    });
    if (probe.status !== 0) {
      throw new TerminalError(
        `The fleet's OS user ${user.name} cannot reach its machine directory: a directory above the data dir is closed to other users. ` +
          'Put FLEET_DATA_DIR where every user may traverse (not under /root), then retry.',
      );
    }
  }

  private refuseSecondTenant(slug: string): void {
    if (!this.opts.production) return;
    const others = fs.existsSync(this.fleetsDir) ? fs.readdirSync(this.fleetsDir).filter((n) => !n.startsWith('.') && n !== slug) : [];
    if (others.length > 0) {
      throw new TerminalError(
        'This control plane does not run as root, so it cannot give each fleet an OS user of its own, and the local driver ' +
          'then holds one trust domain: in production it serves one tenant only, and one already has a machine here. ' +
          'Run the control plane as root, or use FLEET_COMPUTE=gcp.',
      );
    }
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
