import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintSessionToken } from '../../src/auth/dev-issuer.ts';
import { TerminalError } from '../../src/domain/step-errors.ts';
import type { StepDefinition } from '../../src/pipeline/step.ts';
import { PLATFORM_TOKEN, type TestApp } from '../harness/app.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { answerProblems } from './answer-checks.ts';
import { describeRequest, type FuzzRequest, type OpenApiDocument, operationsOf, requestsFor, schemaContext } from './openapi-requests.ts';
import type { Hints } from './schema-arbitraries.ts';

/**
 * Every operation of the OpenAPI document, fuzzed in-process with valid, broken and hostile
 * requests under every kind of credential. Whatever arrives, the answer is never a 5xx, never
 * shows the machine (stack, path, raw error), and every 4xx is in the error envelope. Seeded:
 * the same requests every run (FUZZ_SEED and FUZZ_RUNS change them, to hunt further by hand).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

// Instant stand-in steps, so fuzzed provisions and retries really run: fleets reach `active`, and
// those of tenants whose slug has an odd length reach `error` (retry then has work to do).
const steps: StepDefinition[] = [
  { name: 'vm_create', timeoutMs: 10_000, run: async (ctx) => ({ message: `machine for ${ctx.tenant.slug}`, output: {} }) },
  {
    name: 'connectivity_check',
    timeoutMs: 10_000,
    run: async (ctx) => {
      if (ctx.tenant.slug.length % 2 === 1) throw new TerminalError(`Mission Control of ${ctx.tenant.slug} refused its token`);
      return { message: 'reachable', output: {} };
    },
  },
  {
    name: 'complete',
    timeoutMs: 10_000,
    run: async () => ({ message: 'live', output: {}, fleetUpdate: { dashboardUrl: 'https://dash.example/' } }),
  },
];
const app = useStandinApp({ workers: { concurrency: 2, steps } });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let doc: OpenApiDocument;
let credentials: Record<string, Record<string, string>>;
let knownIds: string[];
let hints: Hints;

beforeAll(async () => {
  const t = app();
  doc = (await (await t.request('/api/openapi.json')).json()) as OpenApiDocument;
  const admin = t.token({ userId: 'user_fuzz_admin', orgId: 'org_fuzzA', orgRole: 'admin' });
  const { iat } = JSON.parse(Buffer.from(admin.split('.')[1]!, 'base64url').toString()) as { iat: number };
  credentials = {
    none: {},
    admin: { authorization: `Bearer ${admin}` },
    member: { authorization: `Bearer ${t.token({ userId: 'user_fuzz_member', orgId: 'org_fuzzA', orgRole: 'member' })}` },
    personal: { authorization: `Bearer ${t.token({ userId: 'user_fuzz_solo' })}` },
    expired: { authorization: `Bearer ${t.token({ userId: 'user_fuzz_admin', orgId: 'org_fuzzA', orgRole: 'admin', ttlSeconds: -120 })}` },
    otherKey: {
      authorization: `Bearer ${mintSessionToken(otherKey, { userId: 'user_fuzz_admin', orgId: 'org_fuzzA', orgRole: 'admin' })}`,
    },
    oddClaims: {
      authorization: `Bearer ${t.token({ userId: 'user_fuzz_odd', claims: { sub: '\u0000💥'.repeat(50), o: { id: 'org_\u202e', rol: 'admin' } } })}`,
    },
    malformed: { authorization: 'Bearer not.a.jwt' },
    basic: { authorization: 'Basic dXNlcjpwYXNz' },
    hugeBearer: { authorization: `Bearer ${'a'.repeat(20_000)}` },
    cookie: { cookie: `__session=${admin}; __client_uat=${iat}` },
    platform: { 'x-platform-token': PLATFORM_TOKEN },
    platformWrong: { 'x-platform-token': `${PLATFORM_TOKEN}x` },
    both: { authorization: `Bearer ${admin}`, 'x-platform-token': PLATFORM_TOKEN },
  };
  const created = await t.createTenant({ tenantId: 'fuzz_known', name: 'Fuzz Known', clerkOrgId: 'org_fuzzKnown' });
  const tenant = ((await created.json()) as { tenant: { id: string } }).tenant;
  knownIds = ['fuzz_known', tenant.id, 'nobody_here', 'tnt_000000000000'];
  const templates = (
    (await (await t.request('/api/templates', { token: admin })).json()) as {
      templates: Array<{ id: string; agents: Array<{ name: string }> }>;
    }
  ).templates;
  hints = {
    templateId: fc.constantFrom(...templates.map((x) => x.id), 'no-such-template'),
    'repos[]': fc.stringMatching(/^[a-z][a-z0-9-]{0,20}\/[a-z][a-z0-9._-]{0,20}$/),
    'discord.bots[].agent': fc.constantFrom(...templates.flatMap((x) => x.agents.map((a) => a.name))),
    'path.tenantId': fc.stringMatching(/^[a-z][a-z0-9_]{0,30}$/),
  };
});

/** Sends one fuzz request to the in-process app and reads as much of the answer as a client would. */
async function send(t: TestApp, req: FuzzRequest): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = new Headers({ ...req.headers, ...credentials[req.credential] });
  if (req.body !== undefined) headers.set('content-length', String(Buffer.byteLength(req.body)));
  const res = await t.app.request(req.url, { method: req.method, headers, body: req.body });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    // A stream never ends by itself: its first event, if one comes soon (none does after a
    // Last-Event-ID with nothing new), is enough; then leave as a client does.
    const reader = res.body!.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      reader.read(),
      new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), 100);
      }),
    ]);
    clearTimeout(timer);
    await reader.cancel();
    return { status: res.status, headers: res.headers, text: first?.value ? new TextDecoder().decode(first.value) : '' };
  }
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Everything the request said, as text: what the answer may echo without leaking anything. */
function sentText(req: FuzzRequest): string {
  let url = req.url;
  try {
    url += `\n${decodeURIComponent(req.url)}`;
  } catch {}
  const body = typeof req.body === 'string' ? req.body : req.body ? Buffer.from(req.body).toString('latin1') : '';
  return [url, JSON.stringify(req.headers), body, body && reparsed(body)].join('\n');
}

/** The body's strings as the server read them (escapes decoded), or nothing for a body that is not JSON or too deep. */
function reparsed(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 0).replace(/\\(.)/g, '$1');
  } catch {
    return '';
  }
}

describe('fuzz: every operation of the OpenAPI document', () => {
  it('the document lists the routes the fuzz must reach', () => {
    const ops = operationsOf(doc).map((o) => `${o.method} ${o.path}`);
    expect(ops).toEqual(expect.arrayContaining(['POST /api/fleet/provision', 'GET /api/tenants/{tenantId}', 'GET /api/fleet/events']));
  });

  // Every operation the document lists, read when the test runs: a new route is fuzzed without a change here.
  it('never answers a 5xx, never leaks the machine, and keeps every 4xx in the envelope', { timeout: 120_000 }, async () => {
    const t = app();
    const ctx = schemaContext(doc, hints);
    const statuses: Record<string, Record<number, number>> = {};
    for (const op of operationsOf(doc)) {
      const name = `${op.method} ${op.path}`;
      const seen: Record<number, number> = {};
      statuses[name] = seen;
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(
          requestsFor(op, ctx, {
            credentials: Object.keys(credentials),
            sessionCredentials: ['admin', 'member', 'personal', 'cookie', 'oddClaims'],
            platformCredentials: ['platform', 'both'],
            knownIds,
          }),
          async (req) => {
            const answer = await send(t, req);
            seen[answer.status] = (seen[answer.status] ?? 0) + 1;
            const problems = answerProblems(answer, sentText(req), { head: req.method === 'HEAD' });
            if (problems.length > 0) {
              throw new Error(`${describeRequest(req)}\n→ ${answer.status}: ${problems.join('; ')}\n${answer.text.slice(0, 500)}`);
            }
          },
        ),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      seen[0] = Date.now() - started;
    }
    if (process.env.FUZZ_REPORT) console.log(JSON.stringify(statuses, null, 1));
  });
});
