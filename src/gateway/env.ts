/**
 * The environment every openclaw process we start gets (the gateway and one-shot CLI commands).
 * It is built from scratch rather than inherited as is, because the control plane's environment
 * carries things that break or redirect OpenClaw: tsx/vitest loaders in NODE_OPTIONS (Node 26 would
 * load them), the variables `npm run` exports (OpenClaw runs npm itself to install plugins), a
 * developer's own OPENCLAW_* variables (another state dir, profile or home), and vitest's VITEST*
 * markers (OpenClaw detects them and switches to test behaviour: `config validate --json` and
 * `health --json` then print nothing at all).
 */
import { delimiter, dirname } from 'node:path';
import { withoutNpmRunVariables } from './npm.ts';
import type { OpenclawRuntime } from './runtime.ts';

export interface OpenclawEnvOptions {
  configPath: string;
  stateDir: string;
  /** Sets OPENCLAW_GATEWAY_TOKEN: `gateway run --auth token` and `openclaw health` read it. */
  token?: string;
  /** Added last; `undefined` removes a variable. */
  extra?: Record<string, string | undefined>;
}

export function openclawEnv(runtime: OpenclawRuntime, options: OpenclawEnvOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(withoutNpmRunVariables(process.env))) {
    if (key === 'NODE_OPTIONS' || key.startsWith('OPENCLAW_') || key.startsWith('VITEST')) continue;
    env[key] = value;
  }
  // OpenClaw spawns `node` and `npm` (plugin installs); they must run on the runtime's Node.
  env.PATH = [dirname(runtime.nodeBin), process.env.PATH ?? ''].join(delimiter);
  env.OPENCLAW_CONFIG_PATH = options.configPath;
  env.OPENCLAW_STATE_DIR = options.stateDir;
  // Versions are pinned by us; the gateway must not check for, announce or apply updates.
  env.OPENCLAW_NO_AUTO_UPDATE = '1';
  if (options.token !== undefined) env.OPENCLAW_GATEWAY_TOKEN = options.token;
  for (const [key, value] of Object.entries(options.extra ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
