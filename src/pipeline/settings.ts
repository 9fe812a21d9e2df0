import path from 'node:path';
import type { Config } from '../config.ts';
import type { SecretBox } from '../secrets/secret-box.ts';

/** What the pipeline needs from the configuration, resolved once. */
export interface PipelineSettings {
  dataDir: string;
  /** fleets/<tenant slug>/ of the local driver live here. */
  fleetsDir: string;
  runtimeCacheDir: string;
  /** Test-only stand-in gateway script (FLEET_GATEWAY_COMMAND). */
  gatewayCommand: string | undefined;
  gitBaseUrl: string;
  discordApiUrl: string;
  heartbeatMs: number;
  staleAfterSeconds: number;
  stepTimeouts: Record<string, number>;
  faults: Map<string, string>;
  gatewayOffline: boolean;
  box: SecretBox;
}

/**
 * No template registry here on purpose: steps read the agents stored with the fleet, so a template
 * file edited (or different on another worker's host) cannot change a fleet half-way.
 */
export function pipelineSettings(config: Config, box: SecretBox): PipelineSettings {
  const faults = new Map<string, string>();
  for (const pair of (config.pipeline.faults ?? '').split(',').filter(Boolean)) {
    const [step, kind] = pair.split(':');
    if (step && kind) faults.set(step, kind);
  }
  return {
    dataDir: config.dataDir,
    fleetsDir: path.join(config.dataDir, 'fleets'),
    runtimeCacheDir: config.pipeline.runtimeCacheDir,
    gatewayCommand: config.pipeline.gatewayCommand,
    gitBaseUrl: config.pipeline.gitBaseUrl,
    discordApiUrl: config.pipeline.discordApiUrl,
    heartbeatMs: config.pipeline.heartbeatSeconds * 1000,
    staleAfterSeconds: config.pipeline.staleAfterSeconds,
    stepTimeouts: config.pipeline.stepTimeouts,
    faults,
    gatewayOffline: config.pipeline.gatewayOffline,
    box,
  };
}
