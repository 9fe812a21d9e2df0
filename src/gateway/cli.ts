/**
 * One-shot `openclaw …` commands against a fleet's config and state: config validation, plugin
 * installs, the authenticated health report. Each runs the runtime's Node on openclaw.mjs with the
 * environment from env.ts and is bounded by a timeout (the CLI loads ~300 MB of JS: 2–5 s here).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { openclawEnv, type OpenclawEnvOptions } from './env.ts';
import { openclawCommand, type OpenclawRuntime } from './runtime.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions extends OpenclawEnvOptions {
  timeoutMs?: number;
}

/**
 * Runs `openclaw <args>` and resolves with its exit code and output (it does not throw on code ≠ 0).
 * Output goes to files, not pipes: the CLI ends with process.exit(), and Node's writes to a pipe
 * are asynchronous, so a large JSON report written to a pipe arrives empty or cut (a file is
 * written synchronously).
 */
export async function runOpenclaw(runtime: OpenclawRuntime, args: string[], options: RunCliOptions): Promise<CliResult> {
  const { command, args: argv } = openclawCommand(runtime, args);
  const timeoutMs = options.timeoutMs ?? 120_000;
  // spawn() reports a missing cwd as ENOENT of the command itself; make sure it exists.
  await mkdir(options.stateDir, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), 'fleet-openclaw-cli-'));
  const out = await open(join(scratch, 'stdout'), 'w+');
  const err = await open(join(scratch, 'stderr'), 'w+');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, argv, {
        cwd: options.stateDir,
        env: openclawEnv(runtime, options),
        stdio: ['ignore', out.fd, err.fd],
        detached: true, // own process group: a timeout also stops the npm it may have started
      });
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
        reject(
          new TransientError(`\`openclaw ${args.join(' ')}\` did not finish within ${Math.round(timeoutMs / 1000)} s; it will be retried.`),
        );
      }, timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(
          new TerminalError(`Could not run openclaw (${command}): ${error.message}. Reinstall the runtime by deleting ${runtime.dir}.`, {
            cause: error,
          }),
        );
      });
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    return { code, stdout: await readFile(join(scratch, 'stdout'), 'utf8'), stderr: await readFile(join(scratch, 'stderr'), 'utf8') };
  } finally {
    await out.close();
    await err.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface ValidationResult {
  valid: boolean;
  issues: { path: string; message: string }[];
  warnings: { path: string; message: string }[];
}

/** `openclaw config validate --json` on the config at `options.configPath`. */
export async function validateOpenclawConfig(runtime: OpenclawRuntime, options: RunCliOptions): Promise<ValidationResult> {
  const result = await runOpenclaw(runtime, ['config', 'validate', '--json'], options);
  const parsed = parseJsonOutput(result.stdout) as Partial<ValidationResult> | undefined;
  if (parsed === undefined || typeof parsed.valid !== 'boolean') {
    throw new TerminalError(
      `\`openclaw config validate\` gave no result (exit code ${result.code}):\n${tail(result.stdout + result.stderr)}`,
    );
  }
  return { valid: parsed.valid, issues: parsed.issues ?? [], warnings: parsed.warnings ?? [] };
}

/**
 * `openclaw health --json`: the running gateway's own report over its authenticated WebSocket
 * (loaded plugins and their errors, channels and accounts with running/connected/lastError,
 * agents). /readyz stays ready when a channel plugin failed to load, so this is the check that
 * says whether Discord is really up. Needs the gateway token.
 */
export async function openclawHealth(
  runtime: OpenclawRuntime,
  options: RunCliOptions & { token: string },
): Promise<Record<string, unknown>> {
  const result = await runOpenclaw(runtime, ['health', '--json'], { timeoutMs: 60_000, ...options });
  const parsed = parseJsonOutput(result.stdout);
  if (result.code !== 0 || parsed === undefined || typeof parsed !== 'object' || parsed === null) {
    throw new TransientError(
      `The gateway did not answer \`openclaw health\` (exit code ${result.code}):\n${tail(result.stdout + result.stderr)}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** The JSON document in a command's stdout (it may be preceded by banner or log lines). */
export function parseJsonOutput(stdout: string): unknown {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  try {
    return JSON.parse(stdout.slice(start));
  } catch {
    return undefined;
  }
}

export function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
