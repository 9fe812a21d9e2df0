/**
 * npm for the runtime install (runtime-install.ts): where npm is on the control plane, which of its
 * settings travel to an install, and what a failed run means.
 */
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import type { ExecResult } from '../hosts/host.ts';

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

// npm and Node error codes that mean "the registry or the network hiccuped", worth a retry.
const NETWORK_ERROR =
  /\b(ETIMEDOUT|ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|EPIPE|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|E429|E500|E502|E503|E504|socket hang up|network)\b/i;

/** The error for an npm run that exited non-zero: transient when it looks like the network. */
export function npmFailure(result: ExecResult, purpose: string): TransientError | TerminalError {
  const output = `${result.stdout}\n${result.stderr}`;
  const tail = outputTail(output);
  const what = `npm failed (${result.code === null ? 'killed by a signal' : `exit code ${result.code}`}) while trying to ${purpose}`;
  if (NETWORK_ERROR.test(output)) {
    return new TransientError(`${what}; it looks like a network problem.\nLast output:\n${tail}`);
  }
  return new TerminalError(`${what}. Check the npm output below, fix the cause and retry:\n${tail}`);
}

/**
 * The npm settings a control plane's npm run passes on to the runtime install (a registry mirror,
 * a CA, a cache): named one by one, since everything else in the environment stays behind.
 */
const NPM_SETTINGS = /^npm_config_(registry|cache|userconfig|cafile|ca|strict_ssl|proxy|https_proxy|noproxy|fetch_retries|fetch_timeout)$/i;

export function npmSettingsFrom(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && NPM_SETTINGS.test(key)) picked[key] = value;
  return picked;
}

/**
 * What to show of npm's output: its `npm error` lines up to the usage text or log path it ends
 * with, else the last lines; without blank lines and the noise of engine warnings.
 */
export function outputTail(output: string, lines = 25): string {
  const kept = output.split('\n').filter((line) => line.trim() !== '' && line.trim() !== 'npm error' && !line.includes('EBADENGINE'));
  const first = kept.findIndex((line) => line.startsWith('npm error'));
  if (first < 0) return kept.slice(-lines).join('\n');
  const end = kept.findIndex((line, i) => i > first && /^npm error (Usage:|A complete log of this run)/.test(line));
  return kept.slice(first, end < 0 ? first + lines : Math.min(end, first + lines)).join('\n');
}
