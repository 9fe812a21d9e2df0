#!/usr/bin/env node
// Runs a TypeScript file (a benchmark, a script) with tsx's loader: `node bin/run-ts.js bench/api.ts`.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bin/run-ts.js <file.ts> [args…]');
  process.exit(2);
}
register();
process.argv.splice(1, 1);
await import(pathToFileURL(path.resolve(file)).href);
