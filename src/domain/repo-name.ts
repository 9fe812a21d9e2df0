import { z } from 'zod';

/**
 * A repository as a tenant names it: `owner/name`. It becomes a clone URL and a path on the
 * machine, so this one rule decides it everywhere (request input, templates, the clone itself):
 * whatever is accepted at input can be cloned.
 */
const OWNER_SLASH_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;

/** What is wrong with `repo` as a repository name, or undefined when it is fine. */
export function repoNameProblem(repo: string): string | undefined {
  if (!OWNER_SLASH_NAME.test(repo)) return "must be owner/name (letters, digits, '.', '_' and '-')";
  const name = repo.slice(repo.indexOf('/') + 1);
  // '.', '..' and hidden names would climb out of, or hide inside, the workspace's repos/ dir.
  if (name.startsWith('.')) return "the name must not start with '.' (no '.', '..' or hidden names)";
  // The clone URL adds '.git' itself; 'acme/foo.git' would be cloned from 'acme/foo.git.git'.
  if (name.toLowerCase().endsWith('.git')) return 'leave out the trailing .git';
  return undefined;
}

export const repoName = z.string().superRefine((repo, ctx) => {
  const problem = repoNameProblem(repo);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
