import type { Db } from '../db/connection.ts';
import type { FleetRow } from '../db/fleets.ts';
import type { RunOptions } from '../db/schema.ts';
import type { TenantRow } from '../db/tenants.ts';
import type { MachineRecord } from '../domain/fleet.ts';
import type { FleetRequest } from '../domain/fleet-settings.ts';
import type { RunKind } from '../domain/run-kinds.ts';
import type { StepName } from '../domain/steps.ts';
import type { Logger } from '../observability/logger.ts';
import type { RunMachine } from './run-machine.ts';
import type { PipelineSettings } from './settings.ts';

/** What a step gets to do its work, and what it gives back. */

export interface StepContext {
  db: Db;
  fleet: FleetRow;
  tenant: TenantRow;
  /** The tenant's provisioning request: non-secret settings plus decrypted secrets. */
  request: FleetRequest;
  /** The run this step belongs to: its kind and what it was asked with. */
  run: { id: string; kind: RunKind; options: RunOptions };
  /**
   * Outputs of the steps before this one (from their checkpoints): the fleet's provision steps
   * (vm_create's machine), then the earlier steps of this run's kind.
   */
  outputs: Partial<Record<StepName, Record<string, unknown>>>;
  settings: PipelineSettings;
  /** The fleet's compute driver and the run's one host on its machine. */
  machine: RunMachine;
  signal: AbortSignal;
  log: Logger;
  /** Reports progress inside a long step ("installing the OpenClaw runtime…"). */
  progress(message: string): Promise<void>;
}

export interface StepResult {
  /** Shown to the user in the provision log: what was done, or what was skipped and why. */
  message: string;
  /** Checkpointed: later steps and replays read it instead of running the step again. */
  output: Record<string, unknown>;
  /** Columns of the fleet to update when the step completes (in the same transaction). */
  fleetUpdate?: { machine?: MachineRecord; dashboardUrl?: string };
}

export interface StepDefinition {
  name: StepName;
  /** The whole step, retries included, must finish within this. */
  timeoutMs: number;
  run(ctx: StepContext): Promise<StepResult>;
}
