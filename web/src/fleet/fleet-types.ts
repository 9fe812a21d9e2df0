import type { FleetStatus } from '../../../src/domain/fleet.ts';
import type { LogStatus, ProvisionStep, StepName } from '../../../src/domain/steps.ts';

/** The API's shapes, as GET /api/fleet and GET /api/templates give them (the seed's fields). */
export interface LogEntry {
  /** A provision step, or a step of a suspend, resume or deprovision run. */
  step: StepName;
  status: LogStatus;
  message: string | null;
  durationMs: number | null;
  createdAt: string;
  /** The run that wrote it (null for entries older than runs). */
  runId: string | null;
}

export interface Fleet {
  status: FleetStatus;
  templateId: string;
  dashboardUrl: string | null;
  agentSpecs: Array<{ name: string; role: string }>;
  repos: string[];
  gcpResources: { vmName: string | null; zone: string | null; ip: string | null } | null;
  provisionLog: LogEntry[];
  createdAt: string;
  updatedAt: string;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  repos: string[];
  agents: Array<{ name: string; displayName: string; role: string; description: string }>;
}

/** The seed's meaning of each status, in words a tenant reads. */
export const STATUS_MEANING: Record<FleetStatus, string> = {
  pending: 'Tenant created, provisioning not started',
  provisioning: 'VM spin-up and agent bootstrap in progress',
  active: 'Fleet is live and agents are running',
  error: 'Provisioning failed — check the failing step below',
  suspended: 'Fleet paused (billing or admin action)',
};

/** What each step does, from the seed. */
export const STEP_MEANING: Record<ProvisionStep, string> = {
  vm_create: 'Machine provisioned',
  workspace_bootstrap: 'Agent workspaces created, repos cloned',
  agent_config: 'AGENTS.md, SOUL.md and workspace files written',
  gateway_start: 'OpenClaw gateway started and health-checked',
  connectivity_check: 'Discord and Mission Control connectivity verified',
  complete: 'Fleet fully provisioned and ready',
};
