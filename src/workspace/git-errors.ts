import { type StepFailure, TerminalError, TransientError } from '../domain/step-errors.ts';

/**
 * What a failed `git clone` means for the pipeline: a repository that is missing or out of the
 * token's reach will not appear by retrying (TerminalError, the user must act); a network or
 * server hiccup may pass (TransientError, retried with backoff).
 */

// Git prints these for a missing repo, a private one without credentials, or a refused token —
// forges deliberately answer all three alike, so we cannot tell them apart either.
const NO_ACCESS =
  /repository not found|repository '[^']*' not found|could not be found|does not appear to be a git repository|authentication failed|could not read (username|password)|terminal prompts disabled|invalid username or password|correct access rights|access denied|permission to .* denied/i;
const NETWORK =
  /could not resolve (host|proxy)|temporary failure in name resolution|failed to connect|couldn't connect|connection (timed out|refused|reset)|network is unreachable|no route to host|operation timed out|timed out after|early eof|unexpected disconnect|the remote end hung up|gnutls|ssl_read|ssl_connect|tls connection|http\/2 stream|curl \d+ transfer closed|rpc failed/i;

/** An HTTP status git reports ("The requested URL returned error: 404", "RPC failed; HTTP 502"). */
function httpStatus(stderr: string): number | undefined {
  const m = /returned error: (\d{3})|\bHTTP (\d{3})\b/i.exec(stderr);
  const s = m?.[1] ?? m?.[2];
  return s === undefined ? undefined : Number(s);
}

export function noAccessMessage(repo: string, hasToken: boolean): string {
  return hasToken
    ? `Could not clone ${repo}: the repository does not exist or the git token has no access to it. Check the name, or set a token with read access.`
    : `Could not clone ${repo}: the repository does not exist, or it is private and no git token is set. Check the name, or set a token with read access.`;
}

export function classifyCloneFailure(stderr: string, repo: string, secrets: string[]): StepFailure {
  const text = redact(stderr, secrets);
  const detail = lastLines(text);
  const hasToken = secrets.length > 0;
  const status = httpStatus(text);
  if (status === 401 || status === 403 || status === 404) return new TerminalError(noAccessMessage(repo, hasToken));
  if (status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(`Cloning ${repo} failed: the git server answered HTTP ${status} (${detail}).`);
  }
  if (NO_ACCESS.test(text)) return new TerminalError(noAccessMessage(repo, hasToken));
  if (NETWORK.test(text)) return new TransientError(`Cloning ${repo} failed on the network (${detail}).`);
  return new TerminalError(
    `Could not clone ${repo}: ${detail || `git exited with an error and no message`}. Fix the cause on the machine or the repository, then retry.`,
  );
}

/**
 * Removes secrets from text we are about to show: the token itself, its Basic-auth form, and
 * any `user:password@` in a URL (an operator may have put credentials in the base URL).
 */
export function redact(text: string, secrets: string[]): string {
  let out = text.replace(/(\w+:\/\/)[^/@\s'"]+@/g, '$1***@');
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

function lastLines(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-2)
    .join(' ')
    .slice(0, 500);
}
