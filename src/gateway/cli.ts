/**
 * One-shot `openclaw …` commands against a fleet's config and state: config validation, plugin
 * installs, the authenticated health report. Each runs the runtime's Node on openclaw.mjs with the
 * environment from env.ts and is bounded by a timeout (the CLI loads ~300 MB of JS: 2–5 s here).
 */
import { randomBytes } from 'node:crypto';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { ExecTimeoutError, type Host } from '../hosts/host.ts';
import { openclawEnv } from './env.ts';
import { openclawCommand, type OpenclawRuntime } from './runtime.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** openclaw.json and the state dir, relative to the machine root. */
  configRel: string;
  stateRel: string;
  /** HOME of the command (absolute on the machine). */
  home: string;
  token?: string;
  extra?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/**
 * Runs `openclaw <args>` on the machine and resolves with its exit code and output (it does not
 * throw on code ≠ 0). Output goes to files, not pipes: the CLI ends with process.exit(), and
 * Node's writes to a pipe are asynchronous, so a large JSON report written to a pipe arrives empty
 * or cut (a file is written synchronously). `sh` only redirects: the arguments reach openclaw as
 * they are.
 */
export async function runOpenclaw(host: Host, runtime: OpenclawRuntime, args: string[], options: RunCliOptions): Promise<CliResult> {
  const { command, args: argv } = openclawCommand(runtime, args);
  const timeoutMs = options.timeoutMs ?? 120_000;
  await host.mkdirp(options.stateRel);
  const scratch = `${options.stateRel}/.cli-${randomBytes(6).toString('hex')}`;
  const env = openclawEnv(runtime, {
    configPath: host.resolve(options.configRel),
    stateDir: host.resolve(options.stateRel),
    home: options.home,
    token: options.token,
    extra: { ...options.extra, FLEET_CLI_OUT: host.resolve(`${scratch}.out`), FLEET_CLI_ERR: host.resolve(`${scratch}.err`) },
  });
  try {
    const result = await host
      .exec('/bin/sh', ['-c', 'exec "$0" "$@" >"$FLEET_CLI_OUT" 2>"$FLEET_CLI_ERR"', command, ...argv], {
        cwd: options.stateRel,
        env,
        timeoutMs,
      })
      .catch((error: unknown) => {
        if (error instanceof ExecTimeoutError) {
          throw new TransientError(`\`openclaw ${args.join(' ')}\` did not finish within ${Math.round(timeoutMs / 1000)} s.`);
        }
        throw new TerminalError(
          `Could not run openclaw (${command}): ${(error as Error).message}. Reinstall the runtime by deleting ${runtime.dir}.`,
          {
            cause: error,
          },
        );
      });
    const read = (rel: string) => host.readFile(rel).catch(() => '');
    return { code: result.code, stdout: await read(`${scratch}.out`), stderr: (await read(`${scratch}.err`)) + result.stderr };
  } finally {
    await host.remove(`${scratch}.out`).catch(() => undefined);
    await host.remove(`${scratch}.err`).catch(() => undefined);
  }
}

export interface ValidationResult {
  valid: boolean;
  issues: { path: string; message: string }[];
  warnings: { path: string; message: string }[];
}

/** `openclaw config validate --json` on the config at `options.configPath`. */
export async function validateOpenclawConfig(host: Host, runtime: OpenclawRuntime, options: RunCliOptions): Promise<ValidationResult> {
  const result = await runOpenclaw(host, runtime, ['config', 'validate', '--json'], options);
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
  host: Host,
  runtime: OpenclawRuntime,
  options: RunCliOptions & { token: string },
): Promise<Record<string, unknown>> {
  const result = await runOpenclaw(host, runtime, ['health', '--json'], { timeoutMs: 60_000, ...options });
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
