#!/usr/bin/env node
// The `fleet` CLI. With a build (`npm run build`) that is newer than src/, plain Node runs the
// compiled JavaScript, as production does; otherwise tsx's loader runs the TypeScript, so
// `npm start` and `npx fleet` on a fresh checkout need no build step.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const stamp = fileURLToPath(new URL('../dist/.build-stamp', import.meta.url));
const src = fileURLToPath(new URL('../src/', import.meta.url));

function buildIsCurrent() {
  let built;
  try {
    built = fs.statSync(stamp).mtimeMs;
  } catch {
    return false;
  }
  if (!fs.existsSync(src)) return true; // a production install may ship dist/ only
  for (const entry of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && fs.statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > built) return false;
  }
  return true;
}

if (buildIsCurrent()) {
  // A variable, so the type checker does not look for a build that a checkout may not have.
  const compiled = '../dist/cli/main.js';
  await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
