import type { Fleet } from './fleet-types.ts';
import { STATUS_MEANING } from './fleet-types.ts';
import { formatDuration, stepRows } from './step-rows.ts';
import { formatTable } from './table.ts';

/** A fleet as `fleet status` and `fleet tenants show` print it: what it is, then its steps. */
export function formatFleet(fleet: Fleet): string {
  const machine = fleet.gcpResources;
  const fields: Array<[string, string]> = [
    ['status', `${fleet.status} (${STATUS_MEANING[fleet.status]})`],
    ['template', fleet.templateId],
    ['agents', fleet.agentSpecs.map((a) => `${a.name} (${a.role})`).join(', ') || '-'],
    ['repos', fleet.repos.join(', ') || '-'],
    ['machine', machine ? `${machine.vmName ?? '-'}  zone ${machine.zone ?? '-'}  ip ${machine.ip ?? '-'}` : '-'],
    ['dashboard', fleet.dashboardUrl ?? '-'],
    ['updated', fleet.updatedAt],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  const head = fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
  const steps = stepRows(fleet.provisionLog, fleet.status).map((r) => [
    r.step,
    r.state,
    r.durationMs === null ? '' : formatDuration(r.durationMs),
    r.message ?? '',
  ]);
  return `${head}\n\n${formatTable(['STEP', 'STATE', 'DURATION', 'MESSAGE'], steps)}`;
}

/** What a person without a fleet does next. */
export const NO_FLEET =
  'No fleet yet. Provision one: fleet provision --template standard-7-agent --repo <owner/name> (templates: fleet templates)';
