/**
 * Where the pinned runtime lives inside a cache dir and how to tell a complete one. Shared by the
 * public entry (runtime.ts) and the installer (runtime-install.ts).
 */
import type { Host } from '../hosts/host.ts';
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

/** The parts of a runtime rooted at `dir`, as paths joined with '/' (relative or absolute alike). */
export function runtimeLayout(dir: string) {
  const nodeDir = `${dir}/node_modules/${NODE_RUNTIME_PACKAGE}`;
  const openclawDir = `${dir}/node_modules/openclaw`;
  return {
    nodeDir,
    openclawDir,
    discordPluginDir: `${dir}/node_modules/${DISCORD_PLUGIN_PACKAGE}`,
    nodeBin: `${nodeDir}/bin/node`,
    openclawEntry: `${openclawDir}/openclaw.mjs`,
  };
}

/** The runtime rooted at `dir`, an absolute path on its machine (complete or not). */
export function runtimeAt(dir: string): OpenclawRuntime {
  const layout = runtimeLayout(dir);
  return {
    dir,
    nodeBin: layout.nodeBin,
    openclawEntry: layout.openclawEntry,
    discordPluginDir: layout.discordPluginDir,
    kind: 'openclaw',
    versions: EXPECTED,
  };
}

/** True when `dirRel` on `host` holds a finished install of exactly the pinned versions. */
export async function isCompleteOn(host: Host, dirRel: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await host.readFile(`${dirRel}/${MARKER}`)) as Record<string, unknown>;
    const layout = runtimeLayout(dirRel);
    return (
      marker.openclaw === EXPECTED.openclaw &&
      marker.node === EXPECTED.node &&
      marker.discord === EXPECTED.discord &&
      (await host.exists(layout.nodeBin)) &&
      (await host.exists(layout.openclawEntry))
    );
  } catch {
    return false;
  }
}
