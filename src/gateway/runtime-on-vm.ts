/**
 * The OpenClaw runtime on a VM: installed inside the fleet's machine root from the same shipped
 * lockfiles as the control plane's cache, so every machine runs the same bytes. A VM serves one
 * fleet, so there is no cache to share and no lock to take (one run works on a fleet at a time).
 */
import { TerminalError } from '../domain/step-errors.ts';
import type { Host } from '../hosts/host.ts';
import { outputTail } from './npm.ts';
import { installRuntimeOn, tempPrefix } from './runtime-install.ts';
import { isCompleteOn, type OpenclawRuntime, runtimeAt, runtimeDirName } from './runtime-layout.ts';

/** Where the runtime lives on a VM, relative to the fleet's machine root. */
export const VM_RUNTIME_REL = `runtime/${runtimeDirName()}`;

/** PATH for commands on the VM: Debian's standard one (the login shell's may be anything). */
const VM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface VmRuntimeOptions {
  /** HOME of the install: the gateway's own, so the Discord plugin install finds npm's cache warm. */
  home: string;
  log: (message: string) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Returns the pinned runtime on the VM, installing it first when the VM does not have it yet. */
export async function ensureRuntimeOnVm(host: Host, options: VmRuntimeOptions): Promise<OpenclawRuntime> {
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  if (await isCompleteOn(host, VM_RUNTIME_REL)) return runtimeAt(host.resolve(VM_RUNTIME_REL));

  const { cliScript, globalConfig } = await npmOnVm(host, options);
  // A VM serves one fleet and one run works on it at a time: any temp dir left is abandoned.
  const parent = VM_RUNTIME_REL.slice(0, VM_RUNTIME_REL.lastIndexOf('/'));
  for (const name of await host.list(parent)) {
    if (name.startsWith(tempPrefix(VM_RUNTIME_REL)) || name.startsWith(`.${runtimeDirName()}.old-`)) {
      await host.remove(`${parent}/${name}`);
    }
  }
  await installRuntimeOn(host, {
    dirRel: VM_RUNTIME_REL,
    // The machine's own npm configuration (a registry mirror, a CA) for both steps: step 2's npm
    // runs on the runtime's Node, from whose directory it would look for another global npmrc.
    npm: { bootstrap: ['npm'], cliScript, path: VM_PATH, env: { HOME: options.home, npm_config_globalconfig: globalConfig } },
    timeoutMs,
    log: options.log,
    signal: options.signal,
  });
  return runtimeAt(host.resolve(VM_RUNTIME_REL));
}

/**
 * npm on the VM: the path of its `npm-cli.js` and of its global npmrc. An image without npm gets
 * Debian's `nodejs` and `npm` through sudo (passwordless on GCE for the SSH user); the VM's startup
 * script may have done this already, but nothing depends on it having run.
 */
async function npmOnVm(host: Host, options: VmRuntimeOptions): Promise<{ cliScript: string; globalConfig: string }> {
  const find = () =>
    host.exec('sh', ['-c', 'p=$(command -v npm) && readlink -f "$p" && npm config get globalconfig'], {
      env: { PATH: VM_PATH, HOME: options.home },
      timeoutMs: 60_000,
      signal: options.signal,
    });
  let found = await find();
  if (found.code !== 0) {
    options.log('the VM has no npm: installing Debian nodejs and npm with apt');
    const install = await host.exec(
      'sh',
      [
        '-c',
        // Fresh images have no package lists yet; `update` only when the install cannot find the packages.
        'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm || ' +
          '{ sudo -n apt-get update -q && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; }',
      ],
      { env: { PATH: VM_PATH }, timeoutMs: 10 * 60_000, signal: options.signal },
    );
    found = await find();
    if (found.code !== 0) {
      throw new TerminalError(
        'The VM has no npm, and installing Debian nodejs and npm with `sudo apt-get` did not work' +
          `${install.code === 0 ? '' : ` (exit code ${install.code})`}. Use an image that has Node.js and npm (FLEET_GCP_IMAGE) ` +
          `or give the SSH user passwordless sudo, then retry. Output:\n${outputTail(`${install.stdout}\n${install.stderr}`, 10)}`,
      );
    }
  }
  const [cliScript = '', globalConfig = ''] = found.stdout.trim().split('\n');
  if (!cliScript.endsWith('npm-cli.js')) {
    throw new TerminalError(
      `npm on the VM is ${cliScript}, not npm's own npm-cli.js script; install npm from Debian or Node.js's tarball and retry.`,
    );
  }
  return { cliScript, globalConfig: globalConfig.trim() };
}
