import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateRegistry } from './registry.ts';

describe('TemplateRegistry', () => {
  it('loads the shipped templates: the standard 7-agent team and a one-agent template', () => {
    const reg = TemplateRegistry.load();
    const std = reg.get('standard-7-agent');
    expect(std?.agents.map((a) => `${a.name}:${a.role}`)).toEqual([
      'popashot:orchestrator',
      'cantona:engineer',
      'splinter:architect',
      'velma:qa',
      'tank:ops',
      'zerocool:security',
      'slash:design',
    ]);
    expect(reg.list().some((t) => t.agents.length === 1)).toBe(true);
  });

  it('refuses a bad template file, naming the file and the field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tpl-'));
    fs.copyFileSync(new URL('../../templates/standard-7-agent.json', import.meta.url), path.join(dir, 'standard-7-agent.json'));
    fs.writeFileSync(
      path.join(dir, 'broken.json'),
      JSON.stringify({
        id: 'broken',
        name: 'B',
        description: 'd',
        repos: [],
        agents: [{ name: '../etc', displayName: 'x', role: 'qa', description: 'x'.repeat(30), persona: 'y'.repeat(30) }],
      }),
    );
    expect(() => TemplateRegistry.load(dir)).toThrow(/broken\.json is invalid: agents\.0\.name/);
    fs.rmSync(dir, { recursive: true });
  });
});
