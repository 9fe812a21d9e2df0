import type { StepDefinition } from '../step.ts';
import { agentConfig } from './agent-config.ts';
import { complete } from './complete.ts';
import { connectivityCheck } from './connectivity-check.ts';
import { gatewayStart } from './gateway-start.ts';
import { vmCreate } from './vm-create.ts';
import { workspaceBootstrap } from './workspace-bootstrap.ts';

/** The seed's six steps on the local driver, in order (their names come from src/domain/steps.ts). */
export const LOCAL_STEPS: StepDefinition[] = [vmCreate, workspaceBootstrap, agentConfig, gatewayStart, connectivityCheck, complete];
