import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from './cli-error.ts';

/**
 * What `fleet login` keeps between commands: the base URL and the session token (and, for
 * operators, the platform token), in one JSON file readable by its owner only (mode 600, in a
 * mode-700 directory), since it holds credentials.
 */
const StoredLogin = z.object({
  url: z.string(),
  token: z.string().optional(),
  platformToken: z.string().optional(),
});
export type StoredLogin = z.infer<typeof StoredLogin>;

/** The stored login, or undefined when there is none yet. */
export function readStoredLogin(file: string): StoredLogin | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`Cannot read ${file}: ${(e as Error).message}`, 'Check its permissions, or remove it and run `fleet login` again.');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = StoredLogin.safeParse(json);
  if (!parsed.success) throw new CliError(`${file} is not a login this CLI wrote.`, 'Remove it and run `fleet login` again.', EXIT.signIn);
  return parsed.data;
}

/** Replaces the stored login atomically; the file is created mode 600, never readable by others even briefly. */
export function writeStoredLogin(file: string, login: StoredLogin): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  // `mode` applies only when the file is created: a stale temp file from a killed run must not be reused.
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  // The rename replaces the old file, whatever its mode was, with this mode-600 one.
  fs.renameSync(tmp, file);
}
