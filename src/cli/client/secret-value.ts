import fs from 'node:fs';
import { usageError } from './cli-error.ts';

/**
 * A secret given to a flag: the value itself, `@<file>` to read it from a file, or `-` to read it
 * from standard input. The last two keep it out of the shell's history and of `ps`.
 */
export function secretValue(raw: string, flag: string): string {
  let value = raw;
  try {
    if (raw === '-') value = fs.readFileSync(0, 'utf8');
    else if (raw.startsWith('@')) value = fs.readFileSync(raw.slice(1), 'utf8');
  } catch (e) {
    throw usageError(`${flag}: cannot read ${raw === '-' ? 'standard input' : raw.slice(1)} (${(e as NodeJS.ErrnoException).code ?? e}).`);
  }
  value = value.trim();
  if (value === '') throw usageError(`${flag}: the secret is empty.`, 'Give the value, @<file> or - (standard input).');
  return value;
}
