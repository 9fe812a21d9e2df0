/**
 * Where the pinned runtime lives inside a cache dir and how to tell a complete one. Shared by the
 * public entry (runtime.ts) and the installer (runtime-install.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DISCORD_PLUGIN_PACKAGE, DISCORD_PLUGIN_VERSION, NODE_RUNTIME_PACKAGE, NODE_RUNTIME_VERSION, OPENCLAW_VERSION } from './version.ts';

export interface OpenclawRuntime {
  /** The runtime's root directory (for the stand-in: the script's directory). */
  dir: string;
  /** The Node binary that runs the gateway. */
  nodeBin: string;
  /** The JS entry run with `nodeBin`: openclaw's `openclaw.mjs`, or the stand-in script. */
  openclawEntry: string;
  /** The `@openclaw/discord` package installed with the runtime. Not loaded from here (OpenClaw
   * refuses trusted APIs to path-loaded plugins, see plugins.ts); installing it with the runtime
   * checks the pinned pair resolves and leaves its tarball in npm's cache for the per-gateway
   * install. Absent for the stand-in. */
  discordPluginDir?: string;
  kind: 'openclaw' | 'standin';
  versions: { openclaw: string; node: string; discord: string };
}

export const MARKER = '.fleet-runtime.json';
export const EXPECTED = { openclaw: OPENCLAW_VERSION, node: NODE_RUNTIME_VERSION, discord: DISCORD_PLUGIN_VERSION };

/** The directory name of the pinned runtime inside a cache dir. */
export function runtimeDirName(): string {
  return `openclaw-${OPENCLAW_VERSION}-node-${NODE_RUNTIME_VERSION}`;
}

/** The runtime rooted at `dir` (complete or not). */
export function runtimeAt(dir: string): OpenclawRuntime {
  return {
    dir,
    nodeBin: join(dir, 'node_modules', NODE_RUNTIME_PACKAGE, 'bin', 'node'),
    openclawEntry: join(dir, 'node_modules', 'openclaw', 'openclaw.mjs'),
    discordPluginDir: join(dir, 'node_modules', ...DISCORD_PLUGIN_PACKAGE.split('/')),
    kind: 'openclaw',
    versions: EXPECTED,
  };
}

/** True when `dir` holds a finished install of exactly the pinned versions. */
export async function isComplete(dir: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(join(dir, MARKER), 'utf8')) as Record<string, unknown>;
    const runtime = runtimeAt(dir);
    return (
      marker.openclaw === EXPECTED.openclaw &&
      marker.node === EXPECTED.node &&
      marker.discord === EXPECTED.discord &&
      existsSync(runtime.nodeBin) &&
      existsSync(runtime.openclawEntry)
    );
  } catch {
    return false;
  }
}
