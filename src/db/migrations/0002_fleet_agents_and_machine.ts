import { type Kysely, sql } from 'kysely';
import { fleetAgentsOf } from '../../domain/fleet.ts';
import { TemplateRegistry } from '../../templates/registry.ts';

/**
 * The stored fleet becomes the truth for every step: `agents` holds the whole agent definitions
 * copied from the template (the seed's `agentSpecs` is derived from it), and `machine` describes
 * the machine in its driver's terms (`gcp_resources` had a zone of 'local' for a local directory).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE fleets ADD COLUMN agents jsonb`.execute(db);
  // Fleets made before: copy their agents from today's template, keeping the names and roles they had.
  const { rows } = await sql<{ id: string; template_id: string; agent_specs: Array<{ name: string; role: string }> }>`
    SELECT id, template_id, agent_specs FROM fleets`.execute(db);
  const templates = rows.length > 0 ? TemplateRegistry.load() : undefined;
  for (const row of rows) {
    const template = templates?.get(row.template_id);
    const known = new Map((template ? fleetAgentsOf(template) : []).map((a) => [a.name, a]));
    const agents = row.agent_specs.map(
      (spec) =>
        known.get(spec.name) ?? {
          ...spec,
          displayName: spec.name,
          description: `The ${spec.role} of this fleet.`,
          persona: `Clear, direct and helpful, as a good ${spec.role} is.`,
        },
    );
    await sql`UPDATE fleets SET agents = ${JSON.stringify(agents)}::jsonb WHERE id = ${row.id}`.execute(db);
  }
  await sql`
    ALTER TABLE fleets ALTER COLUMN agents SET NOT NULL;
    ALTER TABLE fleets DROP COLUMN agent_specs;
    ALTER TABLE fleets RENAME COLUMN gcp_resources TO machine;
    UPDATE fleets SET machine = jsonb_build_object(
      'driver', 'local', 'name', machine->>'vmName', 'zone', NULLIF(machine->>'zone', 'local'), 'ip', machine->>'ip')
    WHERE machine IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE fleets ADD COLUMN agent_specs jsonb;
    UPDATE fleets SET agent_specs = (SELECT jsonb_agg(jsonb_build_object('name', a->>'name', 'role', a->>'role')) FROM jsonb_array_elements(agents) a);
    ALTER TABLE fleets ALTER COLUMN agent_specs SET NOT NULL;
    ALTER TABLE fleets DROP COLUMN agents;
    UPDATE fleets SET machine = jsonb_build_object('vmName', machine->>'name', 'zone', COALESCE(machine->>'zone', 'local'), 'ip', machine->>'ip')
    WHERE machine IS NOT NULL;
    ALTER TABLE fleets RENAME COLUMN machine TO gcp_resources;
  `.execute(db);
}
