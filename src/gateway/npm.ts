/**
 * Runs npm's own CLI script with a chosen Node binary. The runtime install needs npm to run on the
 * runtime's Node 26, not on the control plane's Node 20: npm silently drops optional dependencies
 * whose `engines` the running Node does not meet (openclaw's native `@openclaw/fs-safe-linux-x64-gnu`
 * says node >= 22), and lifecycle scripts run with whatever `node` comes first on PATH.
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { TerminalError, TransientError } from '../domain/step-errors.ts';

/** The path of npm's `npm-cli.js`, found from this process' environment. */
export function findNpmCli(): string {
  const candidates: string[] = [];
  // Set by npm itself when we run under `npm run` / `npm test`.
  if (process.env.npm_execpath) candidates.push(process.env.npm_execpath);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const npm = join(dir, 'npm');
    if (existsSync(npm)) candidates.push(realpathSync(npm));
  }
  // The layout of the official Node tarballs and Debian's nodejs/npm packages.
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'));
  candidates.push('/usr/lib/node_modules/npm/bin/npm-cli.js', '/usr/share/nodejs/npm/bin/npm-cli.js');
  const found = candidates.find((path) => path.endsWith('npm-cli.js') && existsSync(path));
  if (found === undefined) {
    throw new TerminalError(
      'Could not find npm on this machine (looked for npm-cli.js on PATH and next to node). ' +
        'Install npm (it comes with Node.js) and retry.',
    );
  }
  return found;
}

export interface RunNpmOptions {
  nodeBin: string;
  npmCli: string;
  cwd: string;
  args: string[];
  /** Directories put first on PATH, so lifecycle scripts find this Node as `node`. */
  pathPrepend?: string[];
  timeoutMs: number;
  /** What the command is for, used in error messages ("install the OpenClaw runtime"). */
  purpose: string;
}

// npm and Node error codes that mean "the registry or the network hiccuped", worth a retry.
const NETWORK_ERROR =
  /\b(ETIMEDOUT|ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|EPIPE|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|E429|E500|E502|E503|E504|socket hang up|network)\b/i;

/** Runs npm and resolves with its combined output; rejects with a TransientError or TerminalError. */
export function runNpm(options: RunNpmOptions): Promise<string> {
  const env = withoutNpmRunVariables(process.env);
  // Loaders injected into the control plane (tsx, vitest) must not leak into npm or its scripts.
  delete env.NODE_OPTIONS;
  env.PATH = [...(options.pathPrepend ?? []), env.PATH ?? ''].join(delimiter);
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';

  return new Promise((resolve, reject) => {
    const child = spawn(options.nodeBin, [options.npmCli, ...options.args], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so a timeout can stop npm and every script it started.
      detached: true,
    });
    let output = '';
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      // Keep memory bounded; only the end is ever shown.
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new TerminalError(`Could not run npm to ${options.purpose}: ${error.message}.`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(output);
      const tail = outputTail(output);
      if (timedOut) {
        return reject(
          new TransientError(
            `npm did not finish within ${Math.round(options.timeoutMs / 1000)} s while trying to ${options.purpose}; ` +
              `it may be a slow network. It will be retried. Last output:\n${tail}`,
          ),
        );
      }
      const what = `npm failed (${signal ? `signal ${signal}` : `exit code ${code}`}) while trying to ${options.purpose}`;
      if (NETWORK_ERROR.test(output)) {
        return reject(new TransientError(`${what}; it looks like a network problem and will be retried. Last output:\n${tail}`));
      }
      reject(new TerminalError(`${what}. Check the npm output below, fix the cause and retry:\n${tail}`));
    });
  });
}

/**
 * A copy of `env` without what `npm run` exports to its scripts (npm_package_*, npm_lifecycle_*,
 * npm_config_*prefix*, …): when the control plane runs under `npm start`/`npm test`, those would
 * point a nested npm at the control plane's own project (npm_config_local_prefix). The user's
 * other npm settings (npm_config_registry, _cache, proxies) are kept: a mirror or proxy must keep
 * working for the runtime install.
 */
export function withoutNpmRunVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_') && !(lower.startsWith('npm_config_') && !lower.includes('prefix'))) continue;
    copy[key] = value;
  }
  return copy;
}

/** The last lines of npm's output, without the noise of engine warnings. */
export function outputTail(output: string, lines = 25): string {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.includes('EBADENGINE'))
    .slice(-lines)
    .join('\n');
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
