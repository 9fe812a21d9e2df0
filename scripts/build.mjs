#!/usr/bin/env node
// `npm run build`: compiles src/ to JavaScript (dist/, or the directory given) with tsc, which
// rewrites the `.ts` import specifiers to `.js`, and copies the files the code reads at run time
// (the runtime lockfiles, the file-forge gitconfig). Production then runs plain `node
// dist/cli/main.js`, or the `fleet` bin, which uses the build while it is newer than src/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.resolve(root, process.argv[2] ?? 'dist');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

fs.rmSync(outDir, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir], {
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);

// Everything under src/ that is neither TypeScript nor documentation is read at run time.
const src = path.join(root, 'src');
let copied = 0;
for (const entry of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || /\.(ts|md)$/.test(entry.name)) continue;
  const from = path.join(entry.parentPath ?? entry.path, entry.name);
  const to = path.join(outDir, path.relative(src, from));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  copied++;
}
fs.writeFileSync(path.join(outDir, '.build-stamp'), `${new Date().toISOString()}\n`);
console.log(`built ${path.relative(root, outDir) || '.'} (${copied} files copied besides the compiled ones)`);
