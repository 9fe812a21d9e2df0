import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedOpenApiDocument } from './served-document.ts';

/**
 * `redocly lint` (recommended rules) on the document the app serves: a client generator must be
 * able to trust it. Errors fail the test; warnings are allowed only where listed below, with why.
 */
const run = promisify(execFile);
// The pinned devDependency's own entry point, run by this Node (not whatever `redocly` is on PATH).
const REDOCLY = fileURLToPath(import.meta.resolve('@redocly/cli/bin/cli.js'));
// Accepted warnings. The package has no licence to state. (Every operation has a 4xx now: the
// server's own 405/408/431 are described on each, see src/api/protocol-responses.ts.)
const ACCEPTED_WARNINGS = new Set(['info-license']);

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; severity: 'error' | 'warn'; message: string; location: Array<{ pointer: string }> }>;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-redocly-'));
let report: LintReport;

beforeAll(async () => {
  const file = path.join(scratch, 'openapi.json');
  fs.writeFileSync(file, await servedOpenApiDocument());
  // An allow-listed environment: telemetry off and no update check, so the linter makes no network call.
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: scratch,
    REDOCLY_TELEMETRY: 'off',
    REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    NO_COLOR: '1',
  };
  // Exit code 1 means "problems found": the JSON report on stdout says which.
  const out = await run(process.execPath, [REDOCLY, 'lint', '--extends=recommended', '--format=json', file], { env, cwd: scratch }).catch(
    (e: { stdout?: string; stderr?: string }) => {
      if (!e.stdout) throw new Error(`redocly lint did not run: ${e.stderr}`);
      return { stdout: e.stdout };
    },
  );
  report = JSON.parse(out.stdout) as LintReport;
}, 60_000);
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const describeProblem = (p: LintReport['problems'][number]) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`;

describe('the served OpenAPI document under redocly lint (recommended)', () => {
  it('has no errors', () => {
    expect(report.problems.filter((p) => p.severity === 'error').map(describeProblem)).toEqual([]);
    expect(report.totals.errors).toBe(0);
  });

  it('has no warnings besides the accepted ones', () => {
    const unexpected = report.problems
      .filter((p) => p.severity !== 'error')
      .filter((p) => !ACCEPTED_WARNINGS.has(p.ruleId) && !ACCEPTED_WARNINGS.has(`${p.ruleId} ${p.location[0]?.pointer}`));
    expect(unexpected.map(describeProblem)).toEqual([]);
  });
});
