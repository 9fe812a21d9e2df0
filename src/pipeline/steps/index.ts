import type { Config } from '../../config.ts';
import type { RunKind } from '../../domain/run-kinds.ts';
import type { StepDefinition } from '../step.ts';
import { agentConfig } from './agent-config.ts';
import { complete } from './complete.ts';
import { connectivityCheck } from './connectivity-check.ts';
import { deprovisionPlan } from './deprovision-plan.ts';
import { deprovisionProof } from './deprovision-proof.ts';
import { fleetSuspended } from './fleet-suspended.ts';
import { gatewayRestart } from './gateway-restart.ts';
import { gatewayStart } from './gateway-start.ts';
import { gatewayStop } from './gateway-stop.ts';
import { healthCheck } from './health-check.ts';
import { machineDelete } from './machine-delete.ts';
import { machineStart } from './machine-start.ts';
import { machineStop } from './machine-stop.ts';
import { secretsDestroy } from './secrets-destroy.ts';
import { standinSteps } from './standin.ts';
import { vmCreate } from './vm-create.ts';
import { workspaceBootstrap } from './workspace-bootstrap.ts';

/** The seed's six steps, in order (their names come from src/domain/steps.ts). */
export const LOCAL_STEPS: StepDefinition[] = [vmCreate, workspaceBootstrap, agentConfig, gatewayStart, connectivityCheck, complete];

/** The provision steps a worker process runs: the real ones, or the tests' stand-ins (FLEET_TEST_STANDIN_STEP_MS). */
export const provisionStepsFor = (config: Config): StepDefinition[] =>
  config.pipeline.standinStepMs === undefined ? LOCAL_STEPS : standinSteps(config.pipeline.standinStepMs);

export type LifecycleSteps = Record<Exclude<RunKind, 'provision'>, StepDefinition[]>;

/** The steps of the other kinds of run, on every driver (they go through the ComputeDriver seam). */
export const LIFECYCLE_STEPS: LifecycleSteps = {
  suspend: [gatewayStop, machineStop, fleetSuspended],
  resume: [machineStart, gatewayRestart, healthCheck],
  deprovision: [deprovisionPlan, gatewayStop, machineDelete, secretsDestroy, deprovisionProof],
  // The executor puts its own provision steps after the teardown (tests give stand-ins for them).
  reprovision: [deprovisionPlan, gatewayStop, machineDelete, deprovisionProof, ...LOCAL_STEPS],
};
