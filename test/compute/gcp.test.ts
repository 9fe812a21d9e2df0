/**
 * The gcp driver's Compute Engine calls against the GCE stand-in (test/standins/gce-server.ts),
 * through the real `@google-cloud/compute` client on its REST transport.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseGcpError } from '../../src/compute/gcp-errors.ts';
import { GcpDriver, vmNameFor } from '../../src/compute/gcp-driver.ts';
import { type CreateOrAdoptRequest, GcpCompute, type GcpComputeSettings } from '../../src/compute/gcp.ts';
import { StepFailure, TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { type GceStandin, startGceStandin } from '../standins/gce-server.ts';

const ZONES = ['europe-west2-b', 'europe-west2-c', 'europe-west2-a'];
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0000000000000000000 fleet@acme';
const SCRIPT = '#!/bin/bash\necho hello > /tmp/started\n';
const OURS = { 'managed-by': 'agent-fleet', tenant: 'acme_corp', fleet: 'flt_abc123' };

let gce: GceStandin;
let compute: GcpCompute;
let logs: string[];
let ids: Map<string, string>;

function settings(overrides: Partial<GcpComputeSettings> = {}): GcpComputeSettings {
  return {
    project: gce.project,
    zones: ZONES,
    machineType: 'e2-standard-2',
    image: 'projects/debian-cloud/global/images/family/debian-12',
    network: 'global/networks/default',
    apiEndpoint: gce.origin,
    authClient: gce.authClient(),
    sshUser: 'fleet',
    retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
    pollIntervalMs: 5,
    startTimeoutMs: 2_000,
    ...overrides,
  };
}

function request(overrides: Partial<CreateOrAdoptRequest> = {}): CreateOrAdoptRequest {
  return {
    name: 'fleet-acme-corp',
    labels: { tenant: 'acme_corp', fleet: 'flt_abc123' },
    sshPublicKey: KEY,
    startupScript: SCRIPT,
    log: (line) => logs.push(line),
    // One id per zone, stable across calls: what the step stores in its checkpoint.
    requestIdFor: (zone) => {
      let id = ids.get(zone);
      if (!id) {
        id = crypto.randomUUID();
        ids.set(zone, id);
      }
      return id;
    },
    ...overrides,
  };
}

async function failure(p: Promise<unknown>): Promise<StepFailure> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StepFailure);
    expectNoJson((e as Error).message);
    return e as StepFailure;
  }
  throw new Error('expected a failure');
}

function expectNoJson(message: string) {
  expect(message).not.toMatch(/[{}[\]]|"error"|"code"|"reason"/);
}

/** A driver with other settings; the one from beforeEach is closed first. */
async function recreate(overrides: Partial<GcpComputeSettings>) {
  await compute.close();
  compute = new GcpCompute(settings(overrides));
}

const inserts = () => gce.requestsTo('POST', '/instances').filter((r) => /\/instances$/.test(r.path));

beforeEach(async () => {
  gce = await startGceStandin({ project: 'acme-fleet-prod' });
  compute = new GcpCompute(settings());
  logs = [];
  ids = new Map();
});

afterEach(async () => {
  await compute.close();
  await gce.close();
});

describe('createOrAdopt', () => {
  it('creates a RUNNING VM with our labels, metadata and key, and returns its external IP', async () => {
    const vm = await compute.createOrAdopt(request());

    expect(vm).toEqual({
      name: 'fleet-acme-corp',
      zone: 'europe-west2-b',
      externalIp: expect.stringMatching(/^203\.0\.113\.\d+$/),
      adopted: false,
    });
    const made = gce.instance('europe-west2-b', 'fleet-acme-corp')!;
    expect(made.status).toBe('RUNNING');
    expect(made.natIP).toBe(vm.externalIp);
    expect(made.labels).toEqual(OURS);
    const meta = Object.fromEntries(made.metadata.map((i) => [i.key, i.value]));
    expect(meta['ssh-keys']).toBe(`fleet:${KEY}`);
    expect(meta['startup-script']).toBe(SCRIPT);
    expect(meta['enable-oslogin']).toBe('FALSE');

    const [insert] = inserts();
    expect(insert!.query.requestId).toBe(ids.get('europe-west2-b'));
    expect(insert!.body).toMatchObject({
      name: 'fleet-acme-corp',
      machineType: 'zones/europe-west2-b/machineTypes/e2-standard-2',
      disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' } }],
      networkInterfaces: [{ network: 'global/networks/default', accessConfigs: [{ type: 'ONE_TO_ONE_NAT' }] }],
    });
    expect(gce.requests.every((r) => r.authorized)).toBe(true);
    expect(gce.requestsTo('POST', '/operations/').length).toBeGreaterThan(0);
  });

  it('waits through an operation that is not done at once and a VM still STAGING', async () => {
    await compute.close();
    await gce.close();
    gce = await startGceStandin({ project: 'acme-fleet-prod', waitsBeforeDone: 2, stagingReads: 2 });
    compute = new GcpCompute(settings());

    const vm = await compute.createOrAdopt(request());

    expect(vm.externalIp).toMatch(/^203\.0\.113\./);
    expect(gce.requestsTo('POST', '/wait')).toHaveLength(3);
    expect(gce.instance('europe-west2-b', 'fleet-acme-corp')!.status).toBe('RUNNING');
  });

  it('lets onInsert see the VM (and set its IP) before the insert is DONE', async () => {
    const seen: string[] = [];
    gce.onInsert((vm) => {
      seen.push(vm.metadata.find((i) => i.key === 'ssh-keys')!.value);
      vm.natIP = '127.0.0.1';
      vm.status = 'RUNNING';
    });

    const vm = await compute.createOrAdopt(request());

    expect(seen).toEqual([`fleet:${KEY}`]);
    expect(vm.externalIp).toBe('127.0.0.1');
  });

  it('falls back to the next zone on a stockout, with a new requestId per zone', async () => {
    gce.setZone('europe-west2-b', 'stockout');

    const vm = await compute.createOrAdopt(request());

    expect(vm.zone).toBe('europe-west2-c');
    expect(logs).toContain('zone europe-west2-b has no e2-standard-2 capacity; trying europe-west2-c');
    const sent = inserts().map((r) => [r.path.split('/')[6], r.query.requestId]);
    expect(sent).toEqual([
      ['europe-west2-b', ids.get('europe-west2-b')],
      ['europe-west2-c', ids.get('europe-west2-c')],
    ]);
    expect(ids.get('europe-west2-b')).not.toBe(ids.get('europe-west2-c'));
    expect(gce.instances().map((i) => i.zone)).toEqual(['europe-west2-c']);
  });

  it('falls back on a stockout with details and on a quota limit, saying it is a quota', async () => {
    gce.setZone('europe-west2-b', 'stockout-with-details');
    gce.setZone('europe-west2-c', 'quota');

    const vm = await compute.createOrAdopt(request());

    expect(vm.zone).toBe('europe-west2-a');
    expect(logs[0]).toBe('zone europe-west2-b has no e2-standard-2 capacity; trying europe-west2-c');
    expect(logs[1]).toMatch(
      /^zone europe-west2-c is at a quota limit for e2-standard-2 \(Quota 'CPUS' exceeded.*\); trying europe-west2-a$/,
    );
    expect(new Set(inserts().map((r) => r.query.requestId)).size).toBe(3);
  });

  it('fails terminally with what to do when every zone is out of capacity or quota', async () => {
    gce.setZone('europe-west2-b', 'stockout');
    gce.setZone('europe-west2-c', 'stockout');
    gce.setZone('europe-west2-a', 'quota');

    const e = await failure(compute.createOrAdopt(request()));

    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain('no e2-standard-2 capacity in europe-west2-b, europe-west2-c');
    expect(e.message).toContain('a quota limit in europe-west2-a');
    expect(e.message).toContain('FLEET_GCP_ZONES');
    expect(e.message).toContain('FLEET_GCP_MACHINE_TYPE');
    expect(e.message).toContain('quota increase');
    expect(logs.at(-1)).toMatch(/no zone left to try$/);
    expect(gce.instances()).toEqual([]);
  });

  it('retries a 503 with the SAME requestId and makes one VM', async () => {
    gce.failNext(503, { method: 'POST', path: /\/instances$/, times: 2 });

    const vm = await compute.createOrAdopt(request());

    const sent = inserts();
    expect(sent.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(new Set(sent.map((r) => r.query.requestId))).toEqual(new Set([ids.get('europe-west2-b')]));
    expect(gce.instances()).toHaveLength(1);
    expect(vm.zone).toBe('europe-west2-b');
  });

  it('an insert whose answer was lost is retried with its requestId and gets the first operation back', async () => {
    // GCE accepted the insert, then the socket died before the client read the answer. Without
    // dedup the retry would meet a 409; with it, it gets the same operation: no adoption, one VM.
    gce.failNext('drop-after', { method: 'POST', path: /\/instances$/, times: 1 });
    gce.failNext(429, { method: 'POST', path: '/wait', times: 1, retryAfterSec: 0 });

    const vm = await compute.createOrAdopt(request());

    expect(inserts().map((r) => r.status)).toEqual([0, 200]);
    expect(new Set(inserts().map((r) => r.query.requestId)).size).toBe(1);
    expect(vm.adopted).toBe(false);
    expect(gce.requestsTo('POST', '/wait').map((r) => r.status)).toEqual([429, 200]);
    expect(gce.instances()).toHaveLength(1);
  });

  it('retries a network error (socket closed) on the insert itself', async () => {
    gce.failNext('drop', { method: 'POST', path: /\/instances$/, times: 1 });

    const vm = await compute.createOrAdopt(request());

    expect(inserts().map((r) => r.status)).toEqual([0, 200]);
    expect(new Set(inserts().map((r) => r.query.requestId)).size).toBe(1);
    expect(vm.externalIp).toMatch(/^203\.0\.113\./);
  });

  it('abandons a call that never answers and retries it (the REST transport has no deadline of its own)', async () => {
    await recreate({ callTimeoutMs: 150 });
    gce.failNext('hang', { method: 'POST', path: /\/instances$/, times: 1 });

    const vm = await compute.createOrAdopt(request());

    expect(vm.adopted).toBe(false);
    expect(inserts().map((r) => r.status)).toEqual([0, 200]);
    expect(new Set(inserts().map((r) => r.query.requestId)).size).toBe(1);
  });

  it('reads a DONE sent as the enum number', async () => {
    await compute.close();
    await gce.close();
    gce = await startGceStandin({ project: 'acme-fleet-prod', numericOperationStatus: true, waitsBeforeDone: 1 });
    compute = new GcpCompute(settings());

    const vm = await compute.createOrAdopt(request());

    expect(vm.externalIp).toMatch(/^203\.0\.113\./);
    expect(gce.requestsTo('POST', '/wait')).toHaveLength(2);
  });

  it('gives up on an endless 503 with a TransientError that is not JSON', async () => {
    gce.failNext(503, { method: 'POST', path: /\/instances$/, times: 100 });

    const e = await failure(compute.createOrAdopt(request()));

    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toMatch(
      /^Could not create VM fleet-acme-corp in zone europe-west2-b: Compute Engine answered HTTP 503 \(Internal error\./,
    );
    expect(e.message).toContain('4 times in a row');
    expect(inserts()).toHaveLength(4);
  });

  it('adopts on 409 a VM with our labels, waiting for it to run', async () => {
    gce.addInstance({ zone: 'europe-west2-b', name: 'fleet-acme-corp', labels: OURS, status: 'STAGING', natIP: null });
    // Hide it from the first look so the insert meets it (another worker made it just now).
    gce.failNext(404, { method: 'GET', path: '/instances/fleet-acme-corp', times: 1 });
    setTimeout(() => {
      const vm = gce.instance('europe-west2-b', 'fleet-acme-corp')!;
      vm.status = 'RUNNING';
      vm.natIP = '198.51.100.7';
    }, 50);

    const vm = await compute.createOrAdopt(request());

    expect(inserts().map((r) => r.status)).toEqual([409]);
    expect(vm).toEqual({ name: 'fleet-acme-corp', zone: 'europe-west2-b', externalIp: '198.51.100.7', adopted: true });
    expect(logs.some((l) => l.includes('adopting it'))).toBe(true);
  });

  it('adopts without inserting a VM this fleet already has in a later zone (crash after a fallback)', async () => {
    gce.addInstance({ zone: 'europe-west2-c', name: 'fleet-acme-corp', labels: OURS, status: 'TERMINATED', natIP: null });

    const vm = await compute.createOrAdopt(request());

    expect(vm.zone).toBe('europe-west2-c');
    expect(vm.adopted).toBe(true);
    expect(inserts()).toEqual([]);
    expect(gce.requestsTo('POST', '/start')).toHaveLength(1);
    expect(gce.instance('europe-west2-c', 'fleet-acme-corp')!.status).toBe('RUNNING');
  });

  it('a rerun with the checkpointed requestIds makes no second VM', async () => {
    gce.setZone('europe-west2-b', 'stockout');
    const first = await compute.createOrAdopt(request());
    // The VM is hidden from the first looks, as if GCE were slow to show it: dedup still holds.
    gce.failNext(404, { method: 'GET', path: '/instances/fleet-acme-corp', times: 3 });

    const again = await compute.createOrAdopt(request());

    expect(again.zone).toBe(first.zone);
    expect(gce.instances()).toHaveLength(1);
    const perZone = inserts().map((r) => `${r.path.split('/')[6]}:${r.query.requestId}`);
    expect(new Set(perZone).size).toBe(2);
  });

  it('refuses terminally a VM of the same name that is not ours, naming it', async () => {
    gce.addInstance({ zone: 'europe-west2-b', name: 'fleet-acme-corp', labels: { team: 'data' } });
    gce.failNext(404, { method: 'GET', path: '/instances/fleet-acme-corp', times: 1 });

    const e = await failure(compute.createOrAdopt(request()));

    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain('A VM named fleet-acme-corp already exists in zone europe-west2-b');
    expect(e.message).toContain('not made by Agent Fleet');
    expect(inserts().map((r) => r.status)).toEqual([409]);
    expect(gce.requestsTo('DELETE', '/instances')).toEqual([]);
  });

  it("refuses another fleet's VM without telling whose it is", async () => {
    gce.addInstance({ zone: 'europe-west2-b', name: 'fleet-acme-corp', labels: { ...OURS, tenant: 'globex', fleet: 'flt_zzz' } });

    const e = await failure(compute.createOrAdopt(request()));

    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain('belongs to another Agent Fleet tenant or fleet');
    expect(e.message).not.toContain('globex');
  });

  it('ends a create terminally on a bad request, in words', async () => {
    const e = await failure(compute.createOrAdopt(request({ name: 'Fleet_Bad' })));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain('not a valid Compute Engine VM name');

    gce.failNext(403, { method: 'POST', path: /\/instances$/ });
    const denied = await failure(compute.createOrAdopt(request()));
    expect(denied).toBeInstanceOf(TerminalError);
    expect(denied.message).toContain("Required 'compute.instances.create' permission");
    expect(denied.message).toContain('Compute Instance Admin');
  });

  it('stops when the signal aborts, between retries', async () => {
    gce.failNext(503, { method: 'POST', path: /\/instances$/, times: 100 });
    const abort = new AbortController();
    await recreate({ retry: { attempts: 50, baseDelayMs: 50, maxDelayMs: 50 } });
    setTimeout(() => abort.abort(new Error('budget')), 120);

    const started = Date.now();
    const e = await failure(compute.createOrAdopt(request({ signal: abort.signal })));

    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toContain('cancelled');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('describe, stop, start, delete, listOurs', () => {
  it('describes, stops, starts and deletes (delete twice is fine)', async () => {
    const vm = await compute.createOrAdopt(request());

    expect(await compute.describe(vm.name, vm.zone)).toEqual({ state: 'running', externalIp: vm.externalIp, labels: OURS });

    await compute.stop(vm.name, vm.zone);
    expect(await compute.describe(vm.name, vm.zone)).toEqual({ state: 'stopped', externalIp: null, labels: OURS });

    await compute.start(vm.name, vm.zone);
    const started = await compute.describe(vm.name, vm.zone);
    expect(started.state).toBe('running');
    expect(started.externalIp).toMatch(/^203\.0\.113\./);

    await compute.delete(vm.name, vm.zone);
    expect(await compute.describe(vm.name, vm.zone)).toEqual({ state: 'missing', externalIp: null, labels: {} });
    await compute.delete(vm.name, vm.zone);

    for (const verb of ['/stop', '/start']) {
      const [call] = gce.requestsTo('POST', verb);
      expect(call!.query.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    const deletes = gce.requestsTo('DELETE', '/instances/');
    expect(deletes.map((r) => r.status)).toEqual([200, 404]);
    expect(deletes[0]!.query.requestId).not.toBe(deletes[1]!.query.requestId);
  });

  it('maps GCE statuses', async () => {
    const cases: Array<[string, string]> = [
      ['PROVISIONING', 'starting'],
      ['STAGING', 'starting'],
      ['REPAIRING', 'starting'],
      ['RUNNING', 'running'],
      ['STOPPING', 'stopping'],
      ['SUSPENDING', 'stopping'],
      ['STOPPED', 'stopped'],
      ['TERMINATED', 'stopped'],
      ['SUSPENDED', 'stopped'],
    ];
    for (const [i, [status]] of cases.entries()) gce.addInstance({ zone: 'europe-west2-a', name: `vm-${i}`, status });
    for (const [i, [, state]] of cases.entries()) expect((await compute.describe(`vm-${i}`, 'europe-west2-a')).state).toBe(state);
  });

  it('retries stop, start and delete on 503 and dropped sockets with one requestId each', async () => {
    const vm = await compute.createOrAdopt(request());
    gce.failNext(503, { method: 'POST', path: '/stop', times: 1 });
    gce.failNext('drop', { method: 'POST', path: '/start', times: 1 });
    gce.failNext(429, { method: 'DELETE', times: 1 });

    await compute.stop(vm.name, vm.zone);
    await compute.start(vm.name, vm.zone, { requestId: '6f1e0c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b' });
    await compute.delete(vm.name, vm.zone);

    for (const [method, part] of [
      ['POST', '/stop'],
      ['POST', '/start'],
      ['DELETE', '/instances/'],
    ] as const) {
      const calls = gce.requestsTo(method, part);
      expect(calls).toHaveLength(2);
      expect(calls[0]!.query.requestId).toBe(calls[1]!.query.requestId);
    }
    expect(gce.requestsTo('POST', '/start')[0]!.query.requestId).toBe('6f1e0c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b');
    expect(gce.instances()).toEqual([]);
  });

  it('a stop of a missing VM fails terminally, in words', async () => {
    const e = await failure(compute.stop('fleet-nobody', 'europe-west2-b'));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toBe(
      "Could not stop VM fleet-nobody in zone europe-west2-b: The resource 'projects/acme-fleet-prod/zones/europe-west2-b/instances/fleet-nobody' " +
        'was not found (HTTP 404 notFound). It may have been deleted outside Agent Fleet; check FLEET_GCP_PROJECT and FLEET_GCP_ZONES.',
    );
  });

  it('lists only VMs labelled managed-by=agent-fleet, across zones and pages', async () => {
    await compute.close();
    await gce.close();
    gce = await startGceStandin({ project: 'acme-fleet-prod', pageSize: 2 });
    compute = new GcpCompute(settings());
    for (let i = 0; i < 5; i++) gce.addInstance({ zone: 'europe-west2-b', name: `fleet-t${i}`, labels: { ...OURS, tenant: `t${i}` } });
    gce.addInstance({ zone: 'europe-west2-c', name: 'fleet-tc', labels: OURS, status: 'TERMINATED' });
    gce.addInstance({ zone: 'europe-west2-b', name: 'bastion', labels: { role: 'bastion' } });
    gce.addInstance({ zone: 'us-central1-a', name: 'fleet-elsewhere', labels: OURS });

    const ours = await compute.listOurs();

    expect(ours.map((v) => `${v.zone}/${v.name}`).sort()).toEqual([
      'europe-west2-b/fleet-t0',
      'europe-west2-b/fleet-t1',
      'europe-west2-b/fleet-t2',
      'europe-west2-b/fleet-t3',
      'europe-west2-b/fleet-t4',
      'europe-west2-c/fleet-tc',
    ]);
    expect(ours.find((v) => v.name === 'fleet-tc')).toMatchObject({ state: 'stopped', externalIp: null });
    expect(gce.requestsTo('GET', '/zones/europe-west2-b/instances')).toHaveLength(1);
    expect(gce.requests[0]!.query.filter).toBe('labels.managed-by=agent-fleet');
  });
});

describe('credentials and errors', () => {
  it('the stand-in refuses a request without a token or with a wrong one', async () => {
    const url = `${gce.origin}/compute/v1/projects/${gce.project}/zones/europe-west2-b/instances/x`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { status: string } }).error.status).toBe('UNAUTHENTICATED');
    const wrong = await fetch(url, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(gce.requests.map((r) => r.authorized)).toEqual([false, false]);

    const stranger = new GcpCompute(settings({ authClient: gce.authClient('not-the-token') }));
    try {
      const e = await failure(stranger.describe('x', 'europe-west2-b'));
      expect(e).toBeInstanceOf(TerminalError);
      expect(e.message).toContain('Request had invalid authentication credentials');
      expect(e.message).toContain('FLEET_GCP_ACCESS_TOKEN');
    } finally {
      await stranger.close();
    }
  });

  it('reads what the client throws into a status, a reason and one sentence', async () => {
    const e409 = Object.assign(
      new Error(
        '{"error":{"code":409,"message":"The resource \'projects/p/zones/z/instances/x\' already exists","errors":[{"message":"m","domain":"global","reason":"alreadyExists"}]}}',
      ),
      { code: 409 },
    );
    expect(parseGcpError(e409)).toMatchObject({
      status: 409,
      reason: 'alreadyExists',
      kind: 'alreadyExists',
      message: "The resource 'projects/p/zones/z/instances/x' already exists",
    });
    const net = Object.assign(new Error('request to http://127.0.0.1:1/x failed, reason: connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    expect(parseGcpError(net)).toMatchObject({ status: undefined, reason: 'ECONNREFUSED', kind: 'retryable' });
    expect(parseGcpError(net).message).toBe('network error (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1');
    expect(parseGcpError(Object.assign(new Error('{"error":{"code":429}}'), { code: 429 }))).toMatchObject({
      kind: 'retryable',
      message: 'HTTP 429',
    });
    expect(parseGcpError(Object.assign(new Error('{not json'), { code: 500 }))).toMatchObject({ kind: 'retryable' });
    expectNoJson(parseGcpError(Object.assign(new Error('{not json'), { code: 500 })).message);
    expect(parseGcpError(Object.assign(new Error('x'), { code: 14 }))).toMatchObject({ status: 503, kind: 'retryable' });
  });

  it('the real API is unreachable: a refused connection is retried, then transient', async () => {
    const closed = await startGceStandin();
    const origin = closed.origin;
    await closed.close();
    const offline = new GcpCompute(settings({ apiEndpoint: origin }));
    try {
      const e = await failure(offline.describe('fleet-acme-corp', 'europe-west2-b'));
      expect(e).toBeInstanceOf(TransientError);
      expect(e.message).toContain('could not be reached (ECONNREFUSED)');
    } finally {
      await offline.close();
    }
  });
});

describe('vmNameFor', () => {
  const GCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
  it('is the slug for a slug GCE accepts as it is', () => {
    expect(vmNameFor('acme')).toBe('fleet-acme');
  });
  it('is a valid, distinct name for long slugs that share a start, and for slugs GCE would not take', () => {
    const a = vmNameFor(`${'x'.repeat(70)}-one`);
    const b = vmNameFor(`${'x'.repeat(70)}-two`);
    for (const name of [a, b, vmNameFor('user_abc'), vmNameFor('a-b_')]) expect(name).toMatch(GCE_NAME);
    expect(a).not.toBe(b);
    expect(vmNameFor('user_abc')).not.toBe(vmNameFor('user-abc'));
    expect(vmNameFor(`${'x'.repeat(70)}-one`)).toBe(a); // stable
  });
});

describe('orphans', () => {
  it("are our VMs whose fleet label is no fleet's id; others' VMs and owned ones are not", async () => {
    gce.addInstance({ zone: 'europe-west2-b', name: 'fleet-owned', labels: { ...OURS, fleet: 'flt_owned' } });
    gce.addInstance({ zone: 'europe-west2-c', name: 'fleet-left-behind', labels: { ...OURS, fleet: 'flt_gone' } });
    gce.addInstance({ zone: 'europe-west2-b', name: 'bastion', labels: { role: 'bastion', fleet: 'flt_gone' } });
    const driver = new GcpDriver(compute, { sshUser: 'fleet', sshPort: 22, gatewayPort: 18789 });

    // Fleet ids are matched as GCE label values (lowercased): flt_Owned is the owner of flt_owned.
    const orphans = await driver.listOrphans({ tenantSlugs: new Set(), fleetIds: new Set(['flt_Owned']) });

    expect(orphans).toEqual([
      {
        machine: expect.objectContaining({ driver: 'gcp', vmName: 'fleet-left-behind', zone: 'europe-west2-c' }),
        where: 'zone europe-west2-c',
      },
    ]);
    await driver.delete(orphans[0]!.machine);
    expect(
      gce
        .instances()
        .map((i) => i.name)
        .sort(),
    ).toEqual(['bastion', 'fleet-owned']);
  });
});

describe('relabel and replaceSshKey (a pooled VM made a fleet’s)', () => {
  const POOLED = { 'managed-by': 'agent-fleet', pool: 'wgw_0011223344556677' };
  const metadataOf = (name: string) => Object.fromEntries(gce.instance('europe-west2-b', name)!.metadata.map((i) => [i.key, i.value]));

  it('replaces the pool label with the tenant and fleet, and the pool key with the fleet key, sending the fingerprints read', async () => {
    await compute.createOrAdopt(
      request({ name: 'fleetw-0011223344556677', labels: { pool: 'wgw_0011223344556677' }, zones: ['europe-west2-b'] }),
    );
    expect(gce.instance('europe-west2-b', 'fleetw-0011223344556677')!.labels).toEqual(POOLED);
    const fleetKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetKeyForTestsOnly000000000000000000 fleet@acme';

    await compute.replaceSshKey('fleetw-0011223344556677', 'europe-west2-b', fleetKey);
    await compute.relabel('fleetw-0011223344556677', 'europe-west2-b', { tenant: 'Acme_Corp', fleet: 'flt_abc123', pool: null });

    expect(gce.instance('europe-west2-b', 'fleetw-0011223344556677')!.labels).toEqual(OURS);
    // Only the fleet's key; the other items (startup script, OS Login off) kept.
    expect(metadataOf('fleetw-0011223344556677')).toEqual({
      'ssh-keys': `fleet:${fleetKey}`,
      'startup-script': SCRIPT,
      'enable-oslogin': 'FALSE',
    });
    const [setMetadata] = gce.requestsTo('POST', '/setMetadata');
    const [setLabels] = gce.requestsTo('POST', '/setLabels');
    expect((setMetadata!.body as { fingerprint?: string }).fingerprint).toMatch(/^[A-Za-z0-9+/=]{8,}$/);
    expect((setLabels!.body as { labelFingerprint?: string }).labelFingerprint).toMatch(/^[A-Za-z0-9+/=]{8,}$/);
    expect(setLabels!.query.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reads again and retries when the fingerprint went stale (412 conditionNotMet)', async () => {
    await compute.createOrAdopt(
      request({ name: 'fleetw-0011223344556677', labels: { pool: 'wgw_0011223344556677' }, zones: ['europe-west2-b'] }),
    );
    gce.failNext(412, { path: '/setLabels' });
    await compute.relabel('fleetw-0011223344556677', 'europe-west2-b', { tenant: 'acme_corp', fleet: 'flt_abc123', pool: null });
    expect(gce.requestsTo('POST', '/setLabels').map((r) => r.status)).toEqual([412, 200]);
    expect(gce.instance('europe-west2-b', 'fleetw-0011223344556677')!.labels).toEqual(OURS);
  });

  it('is refused by the stand-in, as by GCE, when the fingerprint is not the current one', async () => {
    await compute.createOrAdopt(
      request({ name: 'fleetw-0011223344556677', labels: { pool: 'wgw_0011223344556677' }, zones: ['europe-west2-b'] }),
    );
    const res = await fetch(
      `${gce.origin}/compute/v1/projects/${gce.project}/zones/europe-west2-b/instances/fleetw-0011223344556677/setMetadata`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${gce.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ fingerprint: 'c3RhbGU=', items: [] }),
      },
    );
    expect(res.status).toBe(412);
    expect(((await res.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0]!.reason).toBe('conditionNotMet');
    expect(metadataOf('fleetw-0011223344556677')['ssh-keys']).toBe(`fleet:${KEY}`);
  });

  it('makes a pooled VM only in the zone asked for', async () => {
    gce.setZone('europe-west2-b', 'stockout');
    await expect(
      compute.createOrAdopt(
        request({ name: 'fleetw-0011223344556677', labels: { pool: 'wgw_0011223344556677' }, zones: ['europe-west2-b'] }),
      ),
    ).rejects.toThrow(/no e2-standard-2 capacity in europe-west2-b/);
    expect(gce.instances()).toEqual([]);
  });
});

describe('orphans and the warm pool', () => {
  it('are pooled VMs that no pool row names, never the ones that have a row', async () => {
    gce.addInstance({ zone: 'europe-west2-b', name: 'fleetw-aaaa', labels: { 'managed-by': 'agent-fleet', pool: 'wgw_aaaa' } });
    gce.addInstance({ zone: 'europe-west2-c', name: 'fleetw-bbbb', labels: { 'managed-by': 'agent-fleet', pool: 'wgw_bbbb' } });
    const driver = new GcpDriver(compute, { sshUser: 'fleet', sshPort: 22, gatewayPort: 18789 });
    const orphans = await driver.listOrphans({ tenantSlugs: new Set(), fleetIds: new Set(), pooledVms: new Set(['fleetw-aaaa']) });
    expect(orphans.map((o) => o.machine.vmName)).toEqual(['fleetw-bbbb']);
  });
});
