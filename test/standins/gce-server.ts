/**
 * A Compute Engine v1 REST stand-in on 127.0.0.1 (ephemeral port): the instance and zone-operation
 * calls the gcp driver makes, answered with GCE's JSON shapes, its error bodies and its
 * requestId deduplication. For the driver's tests and, through `onInsert`, the SSH work.
 *
 *   const gce = await startGceStandin({ project: 'acme' });
 *   const compute = new GcpCompute({ ..., apiEndpoint: gce.origin, authClient: gce.authClient() });
 *   gce.setZone('europe-west2-b', 'stockout');            // or 'stockout-with-details', 'quota', 'available'
 *   gce.failNext(503, { method: 'POST', path: '/instances', times: 1 }); // also 409, 404, 429, 500, 'drop', 'drop-after'
 *   gce.onInsert((vm) => { vm.natIP = '127.0.0.1'; });     // runs before the insert's operation is DONE
 *   gce.addInstance({ zone, name, labels, status: 'RUNNING' }); // a VM made "by someone else"
 *   gce.requests;                                            // [{ method, path, query, body, status, authorized }]
 *   await gce.close();
 *
 * Behaviour, as GCE does it:
 * - Every request needs `Authorization: Bearer <token>`; none or another → 401 UNAUTHENTICATED.
 * - `POST …/zones/Z/instances?requestId=R` answers a PENDING insert operation at once. A requestId
 *   seen before (for any call) returns that first operation as it is now, and nothing happens again.
 *   An existing name → 409 `alreadyExists`. A zone set to stockout or quota still accepts the insert;
 *   its operation finishes DONE with `error.errors[0].code` ZONE_RESOURCE_POOL_EXHAUSTED[_WITH_DETAILS]
 *   or QUOTA_EXCEEDED and no VM is left behind.
 * - The VM is PROVISIONING until its operation is DONE, then STAGING for `stagingReads` GETs, then
 *   RUNNING with an ephemeral external IP (from 203.0.113.0/24 unless `natIpFor` says otherwise).
 *   Stopping releases the ephemeral IP (status TERMINATED); starting assigns one again.
 * - `POST …/operations/OP/wait` finishes the operation (after `waitsBeforeDone` "still running"
 *   answers) and returns it; `GET …/operations/OP` returns it without advancing it. Operations
 *   advance only through `wait` (GCE's move on by themselves), so a test decides when things end.
 * - `GET …/instances?filter=labels.K=V …` lists, filter terms ANDed, paged by `maxResults`/`pageToken`.
 * - `POST …/instances/NAME/setLabels` and `…/setMetadata` take the whole new set with the
 *   fingerprint of the set they replace (`labelFingerprint`, `metadata.fingerprint`, a hash of the
 *   current contents); another fingerprint → 412 `conditionNotMet`. The change applies when its
 *   operation is DONE (then `onSetMetadata` hooks run, as the guest agent acts on new keys).
 * - Unknown instance or operation → 404 `notFound`. Query keys starting with `$` (the client's
 *   `$alt=json;enum-encoding=int`, `$prettyPrint`) are ignored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';

const COMPUTE = 'https://www.googleapis.com/compute/v1';

export type ZoneMode = 'available' | 'stockout' | 'stockout-with-details' | 'quota';
/**
 * `'drop'` closes the socket instead of handling the request; `'drop-after'` handles it, then
 * closes the socket unanswered; `'hang'` never answers (until close).
 */
export type GceFault = 400 | 401 | 403 | 404 | 409 | 412 | 429 | 500 | 502 | 503 | 'drop' | 'drop-after' | 'hang';

export interface GceFaultOptions {
  /** How many matching requests get the fault; default 1. */
  times?: number;
  /** Only this method. */
  method?: string;
  /** Only paths containing this (e.g. '/instances', '/operations/', '/stop'); a RegExp is tested on the path. */
  path?: string | RegExp;
  /** For 429 and 503: a `Retry-After` header, in seconds. */
  retryAfterSec?: number;
}

export interface GceRecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query, `$`-keys removed. */
  query: Record<string, string>;
  /** The parsed JSON body, if any. */
  body: unknown;
  /** What the stand-in answered; 0 when it dropped the connection. */
  status: number;
  /** Whether the bearer token was the right one (the token itself is never recorded). */
  authorized: boolean;
}

/** A VM as the stand-in keeps it; `onInsert` may change it (e.g. `natIP`). */
export interface StandinInstance {
  id: string;
  name: string;
  zone: string;
  status: string;
  labels: Record<string, string>;
  machineType: string;
  metadata: Array<{ key: string; value: string }>;
  /** The insert body as sent. */
  resource: Record<string, unknown>;
  /** The current ephemeral external IP, null when stopped. */
  natIP: string | null;
  networkIP: string;
  creationTimestamp: string;
  /** GETs left answering STAGING before RUNNING. */
  stagingReadsLeft: number;
}

interface StandinOperation {
  id: string;
  name: string;
  zone: string;
  operationType: 'insert' | 'delete' | 'stop' | 'start' | 'setLabels' | 'setMetadata';
  targetName: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  waitsLeft: number;
  insertTime: string;
  endTime?: string;
  error?: { errors: Array<{ code: string; message: string }> };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
  /** What happens when it finishes. */
  complete: () => Promise<void> | void;
}

export interface GceStandinOptions {
  project?: string;
  /** The bearer token the stand-in accepts; default 'standin-token'. */
  token?: string;
  /** "Still running" answers to `wait` before an operation is DONE; default 0. */
  waitsBeforeDone?: number;
  /** GETs that answer STAGING after an insert or start is DONE; default 0. */
  stagingReads?: number;
  /** Page size of list when the client sends none; default 500. */
  pageSize?: number;
  /** Operation `status` as its proto enum number (DONE = 2104194), as with numeric enums. */
  numericOperationStatus?: boolean;
  /** The ephemeral IP a VM gets when it starts running. */
  natIpFor?: (instance: StandinInstance) => string;
}

export interface GceStandin {
  /** `http://127.0.0.1:<port>`, for `apiEndpoint`. */
  origin: string;
  project: string;
  token: string;
  /** An OAuth2Client holding the stand-in's token (a fixed access token, never refreshed). */
  authClient(token?: string): OAuth2Client;
  requests: GceRecordedRequest[];
  /** Requests whose method matches and whose path contains `pathPart`. */
  requestsTo(method: string, pathPart: string): GceRecordedRequest[];
  setZone(zone: string, mode: ZoneMode): void;
  failNext(fault: GceFault, opts?: GceFaultOptions): void;
  onInsert(hook: (instance: StandinInstance) => void | Promise<void>): void;
  /** Runs when a setMetadata is DONE, with the items it replaced. */
  onSetMetadata(hook: (instance: StandinInstance, before: Array<{ key: string; value: string }>) => void): void;
  /**
   * Holds every operation not yet DONE: `wait` answers it still RUNNING, as GCE does for a slow
   * insert. `release` lets them go and finishes the pending ones at once, as GCE finishes its
   * operations whether or not anyone waits (the caller that started one may be dead).
   */
  holdOperations(): { release(): Promise<void> };
  addInstance(vm: { zone: string; name: string; labels?: Record<string, string>; status?: string; natIP?: string | null }): StandinInstance;
  instance(zone: string, name: string): StandinInstance | undefined;
  instances(): StandinInstance[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface QueuedFault extends GceFaultOptions {
  fault: GceFault;
  remaining: number;
}

/** google.cloud.compute.v1.Operation.Status */
const OPERATION_STATUS = { PENDING: 35394935, RUNNING: 121282975, DONE: 2104194 } as const;
const INSTANCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const ROUTE = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(instances|operations)(?:\/([^/]+))?(?:\/([^/]+))?$/;

export async function startGceStandin(options: GceStandinOptions = {}): Promise<GceStandin> {
  const project = options.project ?? 'standin-project';
  const token = options.token ?? 'standin-token';
  const requests: GceRecordedRequest[] = [];
  const faults: QueuedFault[] = [];
  const zoneModes = new Map<string, ZoneMode>();
  const vms = new Map<string, StandinInstance>();
  const ops = new Map<string, StandinOperation>();
  const byRequestId = new Map<string, StandinOperation>();
  let insertHook: ((instance: StandinInstance) => void | Promise<void>) | undefined;
  let metadataHook: ((instance: StandinInstance, before: Array<{ key: string; value: string }>) => void) | undefined;
  let holding = false;
  let nextIp = 10;
  let nextInternal = 2;

  const key = (zone: string, name: string) => `${zone}/${name}`;
  const zoneUrl = (zone: string) => `${COMPUTE}/projects/${project}/zones/${zone}`;
  const natIpFor = options.natIpFor ?? (() => `203.0.113.${nextIp++ % 250}`);
  const numericId = () => BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
  // As GCE's: opaque, and different whenever the contents differ.
  const fingerprint = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest().subarray(0, 8).toString('base64');

  const instanceJson = (vm: StandinInstance) => {
    const res = vm.resource as { disks?: Array<{ initializeParams?: { sourceImage?: string; diskSizeGb?: string } }>; tags?: unknown };
    const network = (
      (vm.resource.networkInterfaces as Array<{ network?: string }> | undefined)?.[0]?.network ?? 'global/networks/default'
    ).replace(/^(?!https:)/, `${COMPUTE}/projects/${project}/`);
    return {
      kind: 'compute#instance',
      id: vm.id,
      creationTimestamp: vm.creationTimestamp,
      name: vm.name,
      tags: res.tags ?? { fingerprint: '42WmSpB8rSM=' },
      machineType: `${zoneUrl(vm.zone)}/machineTypes/${vm.machineType.split('/').pop()}`,
      status: vm.status,
      zone: zoneUrl(vm.zone),
      canIpForward: false,
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          network,
          subnetwork: `${COMPUTE}/projects/${project}/regions/${vm.zone.replace(/-[a-z]$/, '')}/subnetworks/default`,
          networkIP: vm.networkIP,
          name: 'nic0',
          accessConfigs: [
            {
              kind: 'compute#accessConfig',
              type: 'ONE_TO_ONE_NAT',
              name: 'External NAT',
              ...(vm.natIP ? { natIP: vm.natIP } : {}),
              networkTier: 'PREMIUM',
            },
          ],
          fingerprint: 'x1bJ3ZpQ0eU=',
          stackType: 'IPV4_ONLY',
        },
      ],
      disks: [
        {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          source: `${zoneUrl(vm.zone)}/disks/${vm.name}`,
          deviceName: 'persistent-disk-0',
          index: 0,
          boot: true,
          autoDelete: true,
          interface: 'SCSI',
          diskSizeGb: res.disks?.[0]?.initializeParams?.diskSizeGb ?? '10',
          architecture: 'X86_64',
        },
      ],
      metadata: { kind: 'compute#metadata', fingerprint: fingerprint(vm.metadata), items: vm.metadata },
      selfLink: `${zoneUrl(vm.zone)}/instances/${vm.name}`,
      scheduling: { onHostMaintenance: 'MIGRATE', automaticRestart: true, preemptible: false, provisioningModel: 'STANDARD' },
      cpuPlatform: vm.status === 'RUNNING' ? 'Intel Broadwell' : 'Unknown CPU Platform',
      labels: vm.labels,
      labelFingerprint: fingerprint(vm.labels),
      startRestricted: false,
      deletionProtection: false,
      fingerprint: 'nH3bC1l-2bQ=',
      lastStartTimestamp: vm.creationTimestamp,
    };
  };

  const operationJson = (op: StandinOperation) => ({
    kind: 'compute#operation',
    id: op.id,
    name: op.name,
    zone: zoneUrl(op.zone),
    operationType: op.operationType,
    targetLink: `${zoneUrl(op.zone)}/instances/${op.targetName}`,
    targetId: vms.get(key(op.zone, op.targetName))?.id ?? op.id,
    status: options.numericOperationStatus ? OPERATION_STATUS[op.status] : op.status,
    user: 'fleet-control@standin-project.iam.gserviceaccount.com',
    progress: op.status === 'DONE' ? 100 : 0,
    insertTime: op.insertTime,
    startTime: op.insertTime,
    ...(op.endTime ? { endTime: op.endTime } : {}),
    ...(op.error ? { error: op.error, httpErrorStatusCode: op.httpErrorStatusCode, httpErrorMessage: op.httpErrorMessage } : {}),
    selfLink: `${zoneUrl(op.zone)}/operations/${op.name}`,
  });

  const newOperation = (zone: string, type: StandinOperation['operationType'], target: string, complete: StandinOperation['complete']) => {
    const op: StandinOperation = {
      id: numericId(),
      name: `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}`,
      zone,
      operationType: type,
      targetName: target,
      status: 'PENDING',
      waitsLeft: options.waitsBeforeDone ?? 0,
      insertTime: new Date().toISOString(),
      complete,
    };
    ops.set(op.name, op);
    return op;
  };

  const finish = async (op: StandinOperation) => {
    if (op.status === 'DONE') return;
    await op.complete();
    op.status = 'DONE';
    op.endTime = new Date().toISOString();
  };

  const failOperation = (op: StandinOperation, code: string, message: string, http: number, httpMessage: string) => {
    op.error = { errors: [{ code, message }] };
    op.httpErrorStatusCode = http;
    op.httpErrorMessage = httpMessage;
  };

  const errorBody = (status: number, reason: string, message: string, extra: Record<string, unknown> = {}): Reply => ({
    status,
    body: { error: { code: status, message, errors: [{ message, domain: 'global', reason, ...extra }] } },
  });
  const notFound = (what: string) => errorBody(404, 'notFound', `The resource '${what}' was not found`);
  const resourcePath = (zone: string, name: string) => `projects/${project}/zones/${zone}/instances/${name}`;
  const conditionNotMet = (message: string) => errorBody(412, 'conditionNotMet', message, { location: 'If-Match', locationType: 'header' });

  /** setLabels / setMetadata: the fingerprint must be the current one's; the change lands when the operation is DONE. */
  const setter = (zone: string, name: string, verb: 'setLabels' | 'setMetadata', requestId: string | undefined, body: unknown): Reply => {
    const vm = vms.get(key(zone, name));
    if (!vm) return notFound(resourcePath(zone, name));
    const b = (body ?? {}) as { labels?: Record<string, string>; labelFingerprint?: string; fingerprint?: string; items?: unknown };
    if (verb === 'setLabels') {
      if (b.labelFingerprint !== fingerprint(vm.labels)) {
        return conditionNotMet('Labels fingerprint either invalid or resource labels have changed');
      }
      const labels = { ...(b.labels ?? {}) };
      const op = newOperation(zone, verb, name, () => {
        const current = vms.get(key(zone, name));
        if (current) current.labels = labels;
      });
      if (requestId) byRequestId.set(requestId, op);
      return { status: 200, body: operationJson(op) };
    }
    if (b.fingerprint !== fingerprint(vm.metadata)) {
      return conditionNotMet('Supplied fingerprint does not match current metadata fingerprint.');
    }
    const items = (Array.isArray(b.items) ? (b.items as Array<{ key: string; value: string }>) : []).map((i) => ({
      key: i.key,
      value: i.value,
    }));
    const op = newOperation(zone, verb, name, () => {
      const current = vms.get(key(zone, name));
      if (!current) return;
      const before = current.metadata;
      current.metadata = items;
      metadataHook?.(current, before);
    });
    if (requestId) byRequestId.set(requestId, op);
    return { status: 200, body: operationJson(op) };
  };

  const faultReply = (f: QueuedFault, path: string): Reply => {
    const m = ROUTE.exec(path);
    const what = m?.[4] ? resourcePath(m[2]!, m[4]) : `projects/${project}`;
    const retryAfter = f.retryAfterSec === undefined ? undefined : { 'retry-after': String(f.retryAfterSec) };
    switch (f.fault) {
      case 409:
        return errorBody(409, 'alreadyExists', `The resource '${what}' already exists`);
      case 404:
        return notFound(what);
      case 412:
        return conditionNotMet('Supplied fingerprint does not match current fingerprint.');
      case 429:
        return { ...errorBody(429, 'rateLimitExceeded', 'Rate Limit Exceeded'), headers: retryAfter };
      case 400:
        return errorBody(400, 'invalid', "Invalid value for field 'resource'");
      case 401:
        return errorBody(401, 'authError', 'Request had invalid authentication credentials.');
      case 403:
        return errorBody(403, 'forbidden', `Required 'compute.instances.create' permission for '${what}'`);
      default: {
        const status = typeof f.fault === 'number' ? f.fault : 503;
        return {
          ...errorBody(status, 'backendError', "Internal error. Please try again or contact Google Support. (Code: '-123456789')"),
          headers: retryAfter,
        };
      }
    }
  };

  const startRunning = (vm: StandinInstance) => {
    vm.status = (options.stagingReads ?? 0) > 0 ? 'STAGING' : 'RUNNING';
    vm.stagingReadsLeft = options.stagingReads ?? 0;
    vm.natIP = natIpFor(vm);
  };

  const insert = (zone: string, requestId: string | undefined, body: Record<string, unknown>): Reply => {
    const name = body.name;
    if (typeof name !== 'string' || !INSTANCE_NAME.test(name)) {
      return errorBody(
        400,
        'invalid',
        `Invalid value for field 'resource.name': '${String(name)}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
    }
    const machineType = String(body.machineType ?? '');
    const mt = /(?:^|\/)zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(machineType);
    if (!mt || mt[1] !== zone) {
      return errorBody(
        400,
        'invalid',
        `Invalid value for field 'resource.machineType': '${machineType}'. Machine type must be in zone '${zone}'.`,
      );
    }
    if (vms.has(key(zone, name))) return errorBody(409, 'alreadyExists', `The resource '${resourcePath(zone, name)}' already exists`);
    const mode = zoneModes.get(zone) ?? 'available';
    const op = newOperation(zone, 'insert', name, async () => {
      if (mode === 'stockout' || mode === 'stockout-with-details') {
        vms.delete(key(zone, name));
        failOperation(
          op,
          mode === 'stockout' ? 'ZONE_RESOURCE_POOL_EXHAUSTED' : 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
          mode === 'stockout'
            ? `The zone 'projects/${project}/zones/${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`
            : `The zone 'projects/${project}/zones/${zone}' does not have enough resources available to fulfill the request.  '(resource type:compute)'.`,
          503,
          'SERVICE UNAVAILABLE',
        );
        return;
      }
      if (mode === 'quota') {
        vms.delete(key(zone, name));
        failOperation(
          op,
          'QUOTA_EXCEEDED',
          `Quota 'CPUS' exceeded.  Limit: 8.0 in region ${zone.replace(/-[a-z]$/, '')}.`,
          403,
          'FORBIDDEN',
        );
        return;
      }
      const vm = vms.get(key(zone, name));
      if (!vm) return;
      if (insertHook) await insertHook(vm);
      if (vm.status === 'PROVISIONING') startRunning(vm);
    });
    if (requestId) byRequestId.set(requestId, op);
    // Like GCE, the name is taken from the moment the insert is accepted.
    const items = ((body.metadata as { items?: Array<{ key: string; value: string }> } | undefined)?.items ?? []).map((i) => ({ ...i }));
    vms.set(key(zone, name), {
      id: numericId(),
      name,
      zone,
      status: 'PROVISIONING',
      labels: { ...((body.labels as Record<string, string> | undefined) ?? {}) },
      machineType: mt[2]!,
      metadata: items,
      resource: body,
      natIP: null,
      networkIP: `10.154.0.${nextInternal++ % 250}`,
      creationTimestamp: new Date().toISOString(),
      stagingReadsLeft: 0,
    });
    return { status: 200, body: operationJson(op) };
  };

  const lifecycle = (zone: string, name: string, action: 'stop' | 'start' | 'delete', requestId: string | undefined): Reply => {
    const vm = vms.get(key(zone, name));
    if (!vm) return notFound(resourcePath(zone, name));
    if (action === 'stop' && vm.status !== 'TERMINATED') vm.status = 'STOPPING';
    if (action === 'delete') vm.status = 'STOPPING';
    const op = newOperation(zone, action, name, () => {
      const current = vms.get(key(zone, name));
      if (!current) return;
      if (action === 'delete') vms.delete(key(zone, name));
      else if (action === 'stop') {
        current.status = 'TERMINATED';
        current.natIP = null;
      } else if (current.status !== 'RUNNING' && current.status !== 'STAGING') startRunning(current);
    });
    if (requestId) byRequestId.set(requestId, op);
    return { status: 200, body: operationJson(op) };
  };

  const list = (zone: string, query: Record<string, string>): Reply => {
    const terms: Array<[string, string]> = [];
    const filter = query.filter?.trim();
    if (filter) {
      const re = /\s*(labels\.[a-z0-9_-]+|name|status)\s*(?:=|:)\s*(?:"([^"]*)"|([^\s"]+))\s*/gy;
      let m: RegExpExecArray | null;
      let consumed = 0;
      // biome-ignore lint/suspicious/noAssignInExpressions: the usual exec loop
      while ((m = re.exec(filter))) {
        terms.push([m[1]!, m[2] ?? m[3]!]);
        consumed = re.lastIndex;
      }
      if (consumed !== filter.length)
        return errorBody(400, 'invalid', `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`);
    }
    const matching = [...vms.values()]
      .filter((vm) => vm.zone === zone)
      .filter((vm) =>
        terms.every(([field, value]) =>
          field === 'name'
            ? vm.name === value
            : field === 'status'
              ? vm.status === value
              : vm.labels[field.slice('labels.'.length)] === value,
        ),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
    const size = Math.max(1, Math.min(500, Number(query.maxResults ?? options.pageSize ?? 500) || 500));
    const start = query.pageToken ? Number(Buffer.from(query.pageToken, 'base64url').toString()) : 0;
    const page = matching.slice(start, start + size);
    const more = start + size < matching.length;
    return {
      status: 200,
      body: {
        kind: 'compute#instanceList',
        id: `projects/${project}/zones/${zone}/instances`,
        items: page.map(instanceJson),
        ...(more ? { nextPageToken: Buffer.from(String(start + size)).toString('base64url') } : {}),
        selfLink: `${zoneUrl(zone)}/instances`,
      },
    };
  };

  const answer = async (method: string, path: string, query: Record<string, string>, body: unknown): Promise<Reply> => {
    const m = ROUTE.exec(path);
    if (!m) return errorBody(404, 'notFound', `The requested URL ${path} was not found on this server.`);
    const [, proj, zone, collection, name, verb] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
    if (proj !== project) return notFound(`projects/${proj}`);
    const requestId = query.requestId;
    if (requestId && method !== 'GET') {
      const seen = byRequestId.get(requestId);
      if (seen) return { status: 200, body: operationJson(seen) };
    }
    if (collection === 'operations') {
      const op = name ? ops.get(name) : undefined;
      if (!op || op.zone !== zone) return notFound(`projects/${project}/zones/${zone}/operations/${name ?? ''}`);
      if (method === 'POST' && verb === 'wait') {
        if (holding && op.status !== 'DONE') {
          op.status = 'RUNNING';
        } else if (op.waitsLeft > 0) {
          op.waitsLeft--;
          op.status = 'RUNNING';
        } else await finish(op);
        return { status: 200, body: operationJson(op) };
      }
      if (method === 'GET' && !verb) return { status: 200, body: operationJson(op) };
      return { status: 405, body: { error: { code: 405, message: 'Method not allowed' } } };
    }
    if (!name) {
      if (method === 'POST') return insert(zone, requestId, (body ?? {}) as Record<string, unknown>);
      if (method === 'GET') return list(zone, query);
    } else if (!verb) {
      if (method === 'GET') {
        const vm = vms.get(key(zone, name));
        if (!vm) return notFound(resourcePath(zone, name));
        if (vm.status === 'STAGING' && vm.stagingReadsLeft-- <= 0) vm.status = 'RUNNING';
        return { status: 200, body: instanceJson(vm) };
      }
      if (method === 'DELETE') return lifecycle(zone, name, 'delete', requestId);
    } else if (method === 'POST' && (verb === 'stop' || verb === 'start')) {
      return lifecycle(zone, name, verb, requestId);
    } else if (method === 'POST' && (verb === 'setLabels' || verb === 'setMetadata')) {
      return setter(zone, name, verb, requestId, body);
    }
    return { status: 405, body: { error: { code: 405, message: `Method ${method} not allowed on ${path}` } } };
  };

  const respond = (res: ServerResponse, reply: Reply) => {
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text),
      ...reply.headers,
    });
    res.end(text);
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<unknown>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (!text) return resolve(undefined);
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve(text);
        }
      });
      req.on('error', () => resolve(undefined));
    });

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const path = url.pathname;
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) if (!k.startsWith('$')) query[k] = v;
      const body = await readBody(req);
      const method = req.method ?? 'GET';
      const authorized = req.headers.authorization === `Bearer ${token}`;
      const record = (status: number) => requests.push({ method, path, query, body, status, authorized });

      if (!authorized) {
        const missing = !req.headers.authorization;
        const reply = missing
          ? errorBody(
              401,
              'required',
              'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
              { location: 'Authorization', locationType: 'header' },
            )
          : errorBody(401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token.', {
              location: 'Authorization',
              locationType: 'header',
            });
        (reply.body as { error: Record<string, unknown> }).error.status = 'UNAUTHENTICATED';
        record(401);
        return respond(res, { ...reply, headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' } });
      }
      const fault = faults.find(
        (f) =>
          f.remaining > 0 &&
          (f.method === undefined || f.method === method) &&
          (f.path === undefined || (typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path))),
      );
      if (fault) {
        fault.remaining--;
        if (fault.fault === 'drop-after') {
          await answer(method, path, query, body).catch(() => undefined);
          record(0);
          req.socket.destroy();
          return;
        }
        if (fault.fault === 'hang') {
          record(0);
          return;
        }
        if (fault.fault === 'drop') {
          record(0);
          req.socket.destroy();
          return;
        }
        const reply = faultReply(fault, path);
        record(reply.status);
        return respond(res, reply);
      }
      let reply: Reply;
      try {
        reply = await answer(method, path, query, body);
      } catch (e) {
        reply = errorBody(500, 'backendError', `stand-in failure: ${e instanceof Error ? e.message : String(e)}`);
      }
      record(reply.status);
      respond(res, reply);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    project,
    token,
    authClient: (t = token) => {
      const client = new OAuth2Client();
      client.setCredentials({ access_token: t });
      return client;
    },
    requests,
    requestsTo: (method, part) => requests.filter((r) => r.method === method && r.path.includes(part)),
    setZone: (zone, mode) => {
      zoneModes.set(zone, mode);
    },
    failNext: (fault, opts = {}) => {
      faults.push({ ...opts, fault, remaining: opts.times ?? 1 });
    },
    onInsert: (hook) => {
      insertHook = hook;
    },
    onSetMetadata: (hook) => {
      metadataHook = hook;
    },
    holdOperations: () => {
      holding = true;
      return {
        release: async () => {
          holding = false;
          for (const op of ops.values()) if (op.status !== 'DONE') await finish(op);
        },
      };
    },
    addInstance: (spec) => {
      const vm: StandinInstance = {
        id: numericId(),
        name: spec.name,
        zone: spec.zone,
        status: spec.status ?? 'RUNNING',
        labels: { ...(spec.labels ?? {}) },
        machineType: 'e2-medium',
        metadata: [],
        resource: {},
        natIP: spec.natIP ?? null,
        networkIP: `10.154.0.${nextInternal++ % 250}`,
        creationTimestamp: new Date().toISOString(),
        // A seeded VM keeps the status it was given until the test (or an operation) changes it.
        stagingReadsLeft: Number.POSITIVE_INFINITY,
      };
      if (spec.natIP === undefined && vm.status === 'RUNNING') vm.natIP = natIpFor(vm);
      vms.set(key(spec.zone, spec.name), vm);
      return vm;
    },
    instance: (zone, name) => vms.get(key(zone, name)),
    instances: () => [...vms.values()],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
