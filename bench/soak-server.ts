/**
 * The server `npm run soak` drives, as its own process so its memory is measured alone: the whole
 * of `fleet serve` (HTTP API, embedded PostgreSQL, queue, workers) on loopback, with stand-in steps
 * that take a little time and fail for about one tenant in five, so provisions, errors and retries
 * all happen. Settings come from the environment the soak gives it; it prints `listening <url>`.
 */
import { loadConfig } from '../src/config.ts';
import { TerminalError } from '../src/domain/step-errors.ts';
import { PROVISION_STEPS } from '../src/domain/steps.ts';
import { createLogger } from '../src/observability/logger.ts';
import type { StepDefinition } from '../src/pipeline/step.ts';
import { startServer } from '../src/server.ts';

const STEP_MS: Record<string, number> = { vm_create: 30, workspace_bootstrap: 60, gateway_start: 80 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// The same tenants fail every time (a retry fails again), by a hash of the slug.
const failing = (slug: string) => [...slug].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 5 === 0;

const steps: StepDefinition[] = PROVISION_STEPS.map((name) => ({
  name,
  timeoutMs: 30_000,
  async run(ctx) {
    await sleep(STEP_MS[name] ?? 5);
    if (name === 'connectivity_check' && failing(ctx.tenant.slug)) {
      throw new TerminalError(`Mission Control of ${ctx.tenant.slug} answered 401: check its token`);
    }
    await ctx.progress(`${name} of ${ctx.tenant.slug}: half way`);
    return {
      message: `${name} done for ${ctx.tenant.slug} (${ctx.request.repos.length} repos)`,
      output: { name },
      fleetUpdate:
        name === 'vm_create'
          ? { machine: { driver: 'local', name: `soak-${ctx.tenant.slug}`, zone: null, ip: '127.0.0.1' } }
          : name === 'complete'
            ? { dashboardUrl: `http://127.0.0.1/${ctx.tenant.slug}/` }
            : undefined,
    };
  },
}));

const config = loadConfig(process.env);
const server = await startServer(config, createLogger(config.logLevel), { steps });
console.log(`listening ${server.url}`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
// The soak asks for the memory after a full collection (it starts us with --expose-gc): RSS alone
// swings by a hundred MB with the collector's mood, which says nothing about a leak.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  setTimeout(() => console.log(`mem ${JSON.stringify(process.memoryUsage())}`), 500);
});
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
