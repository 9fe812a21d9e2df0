/**
 * The environment every openclaw process we start gets (the gateway and one-shot CLI commands),
 * built from an allow-list, never inherited: the control plane's environment holds its secrets
 * (database URL, secrets key, platform token), and things that break or redirect OpenClaw
 * (tsx/vitest loaders in NODE_OPTIONS, the variables `npm run` exports, a developer's OPENCLAW_*
 * variables, vitest's VITEST* markers that switch OpenClaw to test behaviour). The same
 * environment works on any machine: nothing in it comes from the control plane's host.
 */
import { dirname } from 'node:path';
import type { OpenclawRuntime } from './runtime.ts';

export interface OpenclawEnvOptions {
  /** Absolute paths on the machine. */
  configPath: string;
  stateDir: string;
  /** HOME of the process (npm's cache lives under it: plugin installs reuse the runtime's downloads). */
  home: string;
  /** Sets OPENCLAW_GATEWAY_TOKEN: `gateway run --auth token` and `openclaw health` read it. */
  token?: string;
  /** Added last; `undefined` removes a variable. */
  extra?: Record<string, string | undefined>;
}

export function openclawEnv(runtime: OpenclawRuntime, options: OpenclawEnvOptions): Record<string, string> {
  const env: Record<string, string> = {
    // OpenClaw spawns `node` and `npm` (plugin installs); they must run on the runtime's Node.
    PATH: [dirname(runtime.nodeBin), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: options.home,
    LANG: 'C.UTF-8',
    OPENCLAW_CONFIG_PATH: options.configPath,
    OPENCLAW_STATE_DIR: options.stateDir,
    // Versions are pinned by us; the gateway must not check for, announce or apply updates.
    OPENCLAW_NO_AUTO_UPDATE: '1',
    npm_config_update_notifier: 'false',
  };
  if (options.token !== undefined) env.OPENCLAW_GATEWAY_TOKEN = options.token;
  for (const [key, value] of Object.entries(options.extra ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
