import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

/**
 * Runs the `fleet` binary as a user would, in a child process with an allow-listed environment
 * (its own config dir and home), and collects its output and exit code.
 */
export const FLEET_BIN = path.resolve('bin/fleet.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    NODE_ENV: 'development',
    ...extra,
  };
}

export function runFleet(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FLEET_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Starts a long-running command (events) and resolves once its stdout satisfies `until`; the process is killed then. */
export function runFleetUntil(args: string[], env: Record<string, string>, until: (stdout: string) => boolean, timeoutMs = 20_000) {
  return new Promise<string>((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [FLEET_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fleet ${args.join(' ')} did not print what was awaited in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until(stdout)) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve(stdout);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!until(stdout)) reject(new Error(`fleet ${args.join(' ')} exited ${code}:\n${stdout}\n${stderr}`));
    });
  });
}
