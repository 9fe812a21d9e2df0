import path from 'node:path';
import { REPO_SLUG } from '../domain/template.ts';
import type { Host } from '../hosts/host.ts';
import { TerminalError, TransientError } from '../pipeline/errors.ts';

/**
 * Clones `owner/name` from a forge into a host path, idempotently: an existing checkout of the
 * same remote is left alone; a new clone goes to `<dest>.partial` first and is renamed into
 * place, so a crash never leaves a half clone where a checkout is expected. A token (private
 * repos) travels as an HTTP header through git's environment config: never in argv (visible in
 * `ps`), the URL, or `.git/config`.
 */
export interface CloneOptions {
  baseUrl: string;
  repo: string;
  dest: string;
  token?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

const NOT_FOUND = /not found|repository exists|correct access rights|does not appear to be a git repository|authentication failed|could not read username|access denied|permission denied|403/i;
const TRANSIENT = /could not resolve host|connection (timed out|refused|reset)|operation timed out|early eof|the remote end hung up|HTTP 5\d\d|returned error: 5\d\d|rpc failed/i;

export function repoUrl(baseUrl: string, repo: string): string {
  return `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}${repo}.git`;
}

export async function cloneRepo(host: Host, o: CloneOptions): Promise<{ cloned: boolean; commit: string }> {
  if (!REPO_SLUG.test(o.repo) || o.repo.split('/').some((p) => p === '.' || p === '..')) {
    throw new TerminalError(`'${o.repo}' is not a repository name of the form owner/name.`);
  }
  const url = repoUrl(o.baseUrl, o.repo);
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' };
  if (o.token) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${Buffer.from(`x-access-token:${o.token}`).toString('base64')}`;
  }
  const git = (args: string[], cwd?: string) => host.exec('git', args, { cwd, env, timeoutMs: o.timeoutMs, signal: o.signal });

  if (await host.exists(`${o.dest}/.git`)) {
    const origin = await git(['remote', 'get-url', 'origin'], o.dest);
    if (origin.code === 0 && origin.stdout.trim() === url) {
      const head = await git(['rev-parse', 'HEAD'], o.dest);
      return { cloned: false, commit: head.stdout.trim() };
    }
    throw new TerminalError(`${o.dest} already holds a different repository (${origin.stdout.trim() || 'no origin'}); remove it or choose another repo list.`);
  }

  const partial = `${o.dest}.partial`;
  await host.remove(partial);
  await host.mkdirp(path.posix.dirname(o.dest));
  let result;
  try {
    result = await git(['clone', '--quiet', '--', url, host.resolve(partial)]);
  } catch (e) {
    await host.remove(partial);
    if ((e as { timedOut?: boolean }).timedOut) throw new TransientError(`Cloning ${o.repo} timed out after ${Math.round(o.timeoutMs / 1000)} s.`, { cause: e });
    throw e;
  }
  if (result.code !== 0) {
    await host.remove(partial);
    const stderr = redact(result.stderr, o.token);
    const detail = stderr.trim().split('\n').slice(-2).join(' ');
    if (TRANSIENT.test(stderr)) throw new TransientError(`Cloning ${o.repo} failed for now: ${detail}`);
    if (NOT_FOUND.test(stderr)) {
      throw new TerminalError(
        `Could not clone ${o.repo}: the repository does not exist or ${o.token ? 'the git token has no access to it' : 'it is private and no git token was given'}. ` +
          'Check the name, or provide a token with read access.',
      );
    }
    throw new TerminalError(`Could not clone ${o.repo}: ${detail}`);
  }
  await host.rename(partial, o.dest);
  const head = await git(['rev-parse', 'HEAD'], o.dest);
  return { cloned: true, commit: head.stdout.trim() };
}

function redact(text: string, token: string | undefined): string {
  return token ? text.split(token).join('[redacted]') : text;
}
