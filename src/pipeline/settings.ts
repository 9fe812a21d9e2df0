import path from 'node:path';
import type { Config } from '../config.ts';
import type { ComputeDriver } from '../compute/driver.ts';
import { LocalDriver } from '../compute/local.ts';
import type { ComputeDriverName } from '../domain/fleet.ts';
import type { Plan, PlanLimits } from '../domain/plans.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { OutboundPolicy } from '../util/outbound-address.ts';
import { sampleForgeUrl } from '../workspace/sample-repo.ts';
import { FaultPlan } from './faults.ts';

/** What the pipeline needs from the configuration, resolved once. */
export interface PipelineSettings {
  dataDir: string;
  /** fleets/<tenant slug>/ of the local driver live here. */
  fleetsDir: string;
  runtimeCacheDir: string;
  /** Test-only stand-in gateway script (FLEET_GATEWAY_COMMAND). */
  gatewayCommand: string | undefined;
  gitBaseUrl: string;
  /** Where `agent-fleet/sample` is cloned from when the local sample is on (dev machines); undefined otherwise. */
  sampleForgeUrl: string | undefined;
  discordApiUrl: string;
  heartbeatMs: number;
  staleAfterSeconds: number;
  /** Checkpoints of steps shorter than this commit without waiting for the WAL flush (db/step-complete.ts). */
  checkpointFlushAfterMs: number;
  stepTimeouts: Record<string, number>;
  faults: FaultPlan;
  gatewayOffline: boolean;
  /** What tenant-named URLs may reach (config.outbound). */
  outbound: OutboundPolicy;
  box: SecretBox;
  /** What each plan allows (repo size while cloning, runs at work per requester). */
  planLimits: Record<Plan, PlanLimits>;
  /** This host (FLEET_HOST_ID): a local-driver fleet's runs are worked on only by the host that made its machine. */
  hostId: string;
  /** Pooled gateways this process keeps ready on its host, or per zone for GCP (FLEET_WARM_POOL). */
  warmPool: number;
  /** The driver new fleets get (FLEET_COMPUTE): the warm pool pools its machines. */
  computeDriver: ComputeDriverName;
  /** How long a claimed pooled gateway gets to reload with the tenant's agents before a cold start. */
  warmReloadTimeoutMs: number;
  /** The compute drivers this process can work with; a fleet uses the one it was created with. */
  drivers: Partial<Record<ComputeDriverName, ComputeDriver>>;
}

/**
 * No template registry here on purpose: steps read the agents stored with the fleet, so a template
 * file edited (or different on another worker's host) cannot change a fleet half-way.
 */
export function pipelineSettings(
  config: Config,
  box: SecretBox,
  drivers: Partial<Record<ComputeDriverName, ComputeDriver>> = {},
): PipelineSettings {
  const fleetsDir = path.join(config.dataDir, 'fleets');
  const faults = new FaultPlan();
  for (const pair of (config.pipeline.faults ?? '').split(',').filter(Boolean)) {
    const [step, kind] = pair.split(':');
    if (step && kind) faults.set(step, kind);
  }
  return {
    dataDir: config.dataDir,
    fleetsDir,
    runtimeCacheDir: config.pipeline.runtimeCacheDir,
    gatewayCommand: config.pipeline.gatewayCommand,
    gitBaseUrl: config.pipeline.gitBaseUrl,
    sampleForgeUrl: config.pipeline.sampleRepo ? sampleForgeUrl(config.dataDir) : undefined,
    discordApiUrl: config.pipeline.discordApiUrl,
    heartbeatMs: config.pipeline.heartbeatSeconds * 1000,
    staleAfterSeconds: config.pipeline.staleAfterSeconds,
    checkpointFlushAfterMs: config.pipeline.checkpointFlushAfterMs,
    stepTimeouts: config.pipeline.stepTimeouts,
    faults,
    gatewayOffline: config.pipeline.gatewayOffline,
    outbound: config.outbound,
    box,
    planLimits: config.limits.plans,
    hostId: config.pipeline.hostId,
    warmPool: config.pipeline.warmPool,
    computeDriver: config.compute.driver,
    warmReloadTimeoutMs: config.pipeline.warmReloadTimeoutMs,
    drivers: {
      local: new LocalDriver(fleetsDir, { isolation: config.pipeline.localIsolation, production: config.env === 'production' }),
      ...drivers,
    },
  };
}
