import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { repoNameProblem } from '../domain/repo-name.ts';
import { ExecAbortedError, type ExecResult, type Host } from '../hosts/host.ts';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { diskUsage, watchDiskUsage } from './clone-size.ts';
import { classifyCloneFailure, redact } from './git-errors.ts';

/**
 * Clones `owner/name` from a forge into a host path, idempotently: an existing checkout of the
 * same remote is left alone; a new clone goes to a fresh temp dir beside `dest` and is renamed
 * into place, so a crash never leaves a half clone where a checkout is expected. A token (private
 * repos) travels as an HTTP header through git's environment config: never in argv (visible in
 * `ps`), the URL, or `.git/config`.
 */
export interface CloneOptions {
  /** Forge prefix, e.g. 'https://github.com/' or 'file:///srv/repos/'. */
  baseUrl: string;
  /** 'owner/name'. */
  repo: string;
  /** Where the checkout goes, relative to the host's root. */
  dest: string;
  token?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The clone (checkout and shallow history) may not grow past this: the tenant's plan. */
  maxBytes?: number;
}

export interface CloneResult {
  /** False when `dest` already was a checkout of this remote and was left as it is. */
  cloned: boolean;
  /** HEAD of the checkout; '' for a repository with no commits yet. */
  commit: string;
}

const TEMP_MARK = '.clone-';

/** The clone URL: base + owner/name + '.git' (a `file://` forge keeps bare repos as owner/name.git). */
export function repoUrl(baseUrl: string, repo: string): string {
  return `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}${repo}.git`;
}

/** Refuses anything the input rule (domain/repo-name.ts) refuses: the name becomes a URL and a path. */
export function assertRepoSlug(repo: string): void {
  const problem = repoNameProblem(repo);
  if (problem) throw new TerminalError(`'${repo}' is not a repository name: it ${problem}. Fix the repo list and retry.`);
}

/**
 * Environment for git: no prompts, none of the machine's git config (system or global: an
 * `insteadOf`, a credential helper or a hook path there would change what is cloned or run), only
 * the transport the forge's URL needs, and the token (if any) as an Authorization header scoped to
 * the forge's URL, so a redirect to another host never receives it.
 */
const FILE_FORGE_GITCONFIG = fileURLToPath(new URL('./file-forge.gitconfig', import.meta.url));

export function gitEnv(baseUrl: string, token?: string): { env: Record<string, string>; secrets: string[] } {
  const entries: [string, string][] = [['credential.helper', '']];
  const secrets: string[] = [];
  if (token) {
    // Basic with the x-access-token user is what GitHub, GitLab and Gitea accept for PATs and app tokens.
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    const scope = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    entries.push([`http.${scope}.extraHeader`, `Authorization: Basic ${basic}`]);
    secrets.push(token, basic);
  }
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    GIT_CONFIG_NOSYSTEM: '1',
    // A file:// forge (dev and tests only) belongs to the operator while git runs as the fleet's OS
    // user, and git refuses a repository another user owns; git takes `safe.directory` only from a
    // system or global file, so such clones get our read-only one.
    GIT_CONFIG_GLOBAL: baseUrl.startsWith('file://') ? FILE_FORGE_GITCONFIG : '/dev/null',
    GIT_ALLOW_PROTOCOL: allowedProtocol(baseUrl),
    GIT_CONFIG_COUNT: String(entries.length),
  };
  entries.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return { env, secrets };
}

/** The one git transport a forge URL needs (https, file, …): git refuses every other, submodules and rewrites included. */
function allowedProtocol(baseUrl: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(baseUrl)?.[1]?.toLowerCase();
  return scheme ?? 'https';
}

export async function cloneRepo(host: Host, o: CloneOptions): Promise<CloneResult> {
  assertRepoSlug(o.repo);
  // A line break in the token would let it inject extra HTTP headers.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (o.token !== undefined && /[\0-\x1f\x7f]/.test(o.token)) {
    throw new TerminalError(
      `The git token for ${o.repo} contains a line break or control character. Set the token again, without extra characters.`,
    );
  }
  const url = repoUrl(o.baseUrl, o.repo);
  const dest = path.posix.normalize(o.dest).replace(/\/+$/, '');
  host.resolve(dest); // refuse an escaping dest before touching anything
  const run = (args: string[], cwd: string | undefined, env: Record<string, string>, signal = o.signal) =>
    host.exec('git', args, { cwd, env, timeoutMs: o.timeoutMs, signal }).catch((e: unknown) => {
      throw execFailure(e, o);
    });
  const plain = gitEnv(o.baseUrl).env; // for local commands: they never need the token

  const existing = await checkoutState(host, dest, url, (args) => run(args, dest, plain));
  if (existing) return { cloned: false, commit: existing.commit };

  const parent = path.posix.dirname(dest);
  const base = path.posix.basename(dest);
  await host.mkdirp(parent);
  await sweepStaleTemps(host, parent, base, o.timeoutMs);
  const tmp = `${parent}/.${base}${TEMP_MARK}${Date.now()}-${randomBytes(4).toString('hex')}`;

  const { env, secrets } = gitEnv(o.baseUrl, o.token);
  // The agents work on the code, not its history: only the latest commit is fetched. A clone
  // growing past the plan's size is stopped while it downloads (clone-size.ts).
  const tooLarge = new AbortController();
  const watch = o.maxBytes === undefined ? undefined : watchDiskUsage(host, tmp, o.maxBytes, () => tooLarge.abort());
  const signal = o.maxBytes === undefined ? o.signal : AbortSignal.any([tooLarge.signal, ...(o.signal ? [o.signal] : [])]);
  let result: ExecResult;
  try {
    result = await run(['clone', '--depth', '1', '--quiet', '--', url, host.resolve(tmp)], undefined, env, signal);
  } catch (e) {
    await host.remove(tmp);
    throw tooLarge.signal.aborted && !o.signal?.aborted ? repoTooLarge(o) : e;
  } finally {
    watch?.stop();
  }
  if (result.code !== 0) {
    await host.remove(tmp);
    throw classifyCloneFailure(result.stderr, o.repo, secrets);
  }
  if (o.maxBytes !== undefined && (await diskUsage(host, tmp)) > o.maxBytes) {
    await host.remove(tmp);
    throw repoTooLarge(o);
  }
  const commit = await headOf((args) => run(args, tmp, plain));
  try {
    await host.rename(tmp, dest);
  } catch (e) {
    await host.remove(tmp);
    // Another run of the same step got there first: its checkout is as good as ours.
    const now = await checkoutState(host, dest, url, (args) => run(args, dest, plain)).catch(() => undefined);
    if (now) return { cloned: false, commit: now.commit };
    throw e;
  }
  return { cloned: true, commit };
}

/** `{ commit }` when dest is a checkout of `url`; undefined when dest is absent or an empty dir; throws otherwise. */
async function checkoutState(
  host: Host,
  dest: string,
  url: string,
  git: (args: string[]) => Promise<ExecResult>,
): Promise<{ commit: string } | undefined> {
  if (!(await host.exists(dest))) return undefined;
  if (!(await host.exists(`${dest}/.git`))) {
    if ((await host.list(dest)).length === 0) {
      await host.remove(dest); // an empty directory (made by hand or by mkdirp): the clone may take its place
      return undefined;
    }
    throw new TerminalError(`${dest} exists on the machine and is not a git checkout. Remove it, or choose another repo list, then retry.`);
  }
  // The raw configured value, not `remote get-url`: that applies the machine's `insteadOf` rewrites.
  const origin = await git(['config', '--get', 'remote.origin.url']);
  const configured = origin.stdout.trim();
  if (origin.code !== 0 || stripSlash(configured) !== stripSlash(url)) {
    throw new TerminalError(
      `${dest} already holds a different repository (${redact(configured, []) || 'no origin'}, expected ${redact(url, [])}). ` +
        'Remove it, or restore the previous git base URL, then retry.',
    );
  }
  return { commit: await headOf(git) };
}

async function headOf(git: (args: string[]) => Promise<ExecResult>): Promise<string> {
  const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD']);
  return head.code === 0 ? head.stdout.trim() : ''; // non-zero: an empty repository (unborn branch)
}

/**
 * Removes temp dirs that crashed clones of `base` left behind. Only those older than a clone may
 * take: a younger one can belong to a clone still running in another worker.
 */
async function sweepStaleTemps(host: Host, parent: string, base: string, timeoutMs: number): Promise<void> {
  const prefix = `.${base}${TEMP_MARK}`;
  const cutoff = Date.now() - timeoutMs - 60_000;
  for (const name of await host.list(parent)) {
    const started = name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : NaN;
    // `<base>.partial` is where earlier versions of this module cloned.
    if ((Number.isFinite(started) && started < cutoff) || name === `${base}.partial`) await host.remove(`${parent}/${name}`);
  }
}

function execFailure(e: unknown, o: CloneOptions): Error {
  if (e instanceof ExecAbortedError) return e; // cancellation: the executor decides what happens next
  if ((e as { timedOut?: boolean }).timedOut) {
    return new TransientError(
      `Cloning ${o.repo} timed out after ${Math.round(o.timeoutMs / 1000)} s; a very large repository may need a longer timeout.`,
      { cause: e },
    );
  }
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
    return new TerminalError(`git is not installed on the machine, so ${o.repo} cannot be cloned. Install git there, then retry.`, {
      cause: e,
    });
  }
  return e instanceof Error ? e : new Error(String(e));
}

function repoTooLarge(o: CloneOptions): TerminalError {
  const mib = Math.round((o.maxBytes ?? 0) / (1024 * 1024));
  return new TerminalError(
    `${o.repo} is larger than the ${mib} MiB a cloned repository may take on this plan (latest commit only), so its clone was stopped. ` +
      'Remove large files from its default branch, leave it out of the repo list, or move to a larger plan; then retry.',
  );
}

const stripSlash = (s: string) => s.replace(/\/+$/, '');
