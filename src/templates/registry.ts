import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Template, templateSchema } from '../domain/template.ts';

/** Loads and validates the fleet templates in templates/*.json once; a bad file stops the start. */

export const DEFAULT_TEMPLATE_ID = 'standard-7-agent';
const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export class TemplateRegistry {
  private constructor(private readonly byId: ReadonlyMap<string, Template>) {}

  static load(dir: string = TEMPLATES_DIR): TemplateRegistry {
    const byId = new Map<string, Template>();
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const full = path.join(dir, file);
      const parsed = templateSchema.safeParse(JSON.parse(fs.readFileSync(full, 'utf8')));
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        throw new Error(`Template ${full} is invalid: ${problems}`);
      }
      if (`${parsed.data.id}.json` !== file) throw new Error(`Template ${full} must be named ${parsed.data.id}.json`);
      byId.set(parsed.data.id, parsed.data);
    }
    if (!byId.has(DEFAULT_TEMPLATE_ID)) throw new Error(`Template ${DEFAULT_TEMPLATE_ID} is missing from ${dir}`);
    return new TemplateRegistry(byId);
  }

  get(id: string): Template | undefined {
    return this.byId.get(id);
  }

  list(): Template[] {
    return [...this.byId.values()];
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}
