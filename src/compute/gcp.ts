import { randomUUID } from 'node:crypto';
import { InstancesClient, protos, ZoneOperationsClient } from '@google-cloud/compute';
import type { AuthClient } from 'google-auth-library';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { classifyOperationError, type GcpError, parseGcpError } from './gcp-errors.ts';

/**
 * Compute Engine, as the gcp driver needs it: one VM per tenant, made idempotently (a caller-chosen
 * requestId per zone, so a crashed run that retries with its checkpointed ids gets GCE's first
 * answer back instead of a second VM), adopted when it already exists for this fleet, and
 * described, stopped, started and deleted. Plain settings in, `TransientError` / `TerminalError`
 * out, messages written for the person who reads the provision log.
 *
 * How the client library behaves (v6.15, REST transport), and why the code looks the way it does:
 * - An insert/stop/start/delete answers `[lro, …]` where `lro.latestResponse` is the Operation and
 *   `lro.name` is the operation's numeric *id*, not its name; `.promise()` does not work. So we
 *   take `latestResponse.name` and loop `ZoneOperationsClient.wait` until `status` is DONE (an
 *   enum: decoded to the string 'DONE', or the number 2104194 if numeric enums are ever enabled).
 * - `Instance.status` is a plain string field in the proto, not an enum.
 * - The client's own retries are off (`retry: null`): with REST they do not fire on 503 anyway,
 *   and our loop retries 5xx, 429 and network errors with backoff, reusing the same requestId.
 * - The REST transport has no per-request deadline and no cancel: a request that hangs is
 *   abandoned after `callTimeoutMs` (and on abort), and retried. The injected `authClient` can
 *   also bound it at the socket (`new OAuth2Client({ transporterOptions: { timeout } })`), but
 *   then above 120 s: `operations.wait` legitimately holds the request for up to two minutes.
 */

type Instance = protos.google.cloud.compute.v1.IInstance;
type Operation = protos.google.cloud.compute.v1.IOperation;

const DONE = protos.google.cloud.compute.v1.Operation.Status.DONE;
const MANAGED_BY = 'agent-fleet';
/** GCE's rule for instance names (RFC 1035 label, at most 63 characters). */
const INSTANCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** How long GCE holds a `wait` call before answering "not done yet". */
const WAIT_HOLD_MS = 120_000;

export interface GcpComputeSettings {
  project: string;
  /** Tried in order when a zone has no capacity or quota. */
  zones: string[];
  machineType: string;
  /** e.g. `projects/debian-cloud/global/images/family/debian-12`. */
  image: string;
  /** A network name (`default`) or path (`global/networks/default`). */
  network: string;
  /** e.g. `http://127.0.0.1:8123` for a stand-in; the real API when unset. */
  apiEndpoint?: string;
  /** Always injected: without one the library looks for credentials itself and may crash the process. */
  authClient: AuthClient;
  /** The login the fleet's key is installed for (`ssh-keys` metadata). */
  sshUser: string;
  /** Boot disk size; the image's size when unset. */
  diskSizeGb?: number;
  /** Network tags (for firewall rules that open the gateway port). */
  networkTags?: string[];
  /** Attempts per API call for 5xx / 429 / network errors (default 5), backoff between them. */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** A call with no answer after this is abandoned and retried (default 60 s; `wait` gets 2 min more). */
  callTimeoutMs?: number;
  /** How long to wait for one operation to be DONE (default 10 min). */
  operationTimeoutMs?: number;
  /** How long a new or adopted VM may take to be RUNNING with an IP (default 5 min). */
  startTimeoutMs?: number;
  /** Pause between polls of an instance's status (default 2 s). */
  pollIntervalMs?: number;
}

export interface CreateOrAdoptRequest {
  /** The VM's name: GCE rules (lowercase letters, digits, dashes; at most 63). */
  name: string;
  /** `tenant` and `fleet` for a fleet's VM, `pool` for a pooled one; `managed-by` is added. */
  labels: Record<string, string>;
  /** Only these zones (a pooled VM is made in the zone it is pooled for); all configured ones when unset. */
  zones?: readonly string[];
  /** OpenSSH public key line. */
  sshPublicKey: string;
  startupScript: string;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** The insert's requestId for a zone: new per zone, the same for the same zone (checkpoint them). */
  requestIdFor: (zone: string) => string;
}

export interface CreatedVm {
  name: string;
  zone: string;
  externalIp: string;
  adopted: boolean;
}

export type VmState = 'running' | 'stopped' | 'starting' | 'stopping' | 'missing';

export interface VmDescription {
  state: VmState;
  externalIp: string | null;
  labels: Record<string, string>;
}

export interface OurVm {
  name: string;
  zone: string;
  state: VmState;
  externalIp: string | null;
  labels: Record<string, string>;
}

export interface OperationOptions {
  /** Reuse one stored with a checkpoint; a fresh one otherwise (the same across this call's retries). */
  requestId?: string;
  signal?: AbortSignal;
}

/** GCE statuses → ours. Unknown (future) statuses count as transitional. */
export function vmState(status: string | null | undefined): Exclude<VmState, 'missing'> {
  switch (status) {
    case 'RUNNING':
      return 'running';
    case 'STOPPED':
    case 'TERMINATED':
    case 'SUSPENDED':
      return 'stopped';
    case 'STOPPING':
    case 'SUSPENDING':
    case 'DEPROVISIONING':
      return 'stopping';
    default:
      // PENDING, PROVISIONING, STAGING, REPAIRING, and anything GCE adds later.
      return 'starting';
  }
}

/** A GCE label value: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function gceLabelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);
}

export class GcpCompute {
  private readonly instances: InstancesClient;
  private readonly operations: ZoneOperationsClient;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly callTimeoutMs: number;
  private readonly operationTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly pollIntervalMs: number;

  constructor(private readonly settings: GcpComputeSettings) {
    if (settings.zones.length === 0) throw new Error('GcpCompute needs at least one zone');
    const options = { ...endpointOptions(settings.apiEndpoint), authClient: settings.authClient, fallback: true };
    // google-gax types `authClient` with its own nested copy of google-auth-library (10.5), so our
    // 10.9 AuthClient is nominally another class; at runtime it only calls its public methods.
    const clientOptions = options as unknown as ConstructorParameters<typeof InstancesClient>[0];
    this.instances = new InstancesClient(clientOptions);
    this.operations = new ZoneOperationsClient(clientOptions);
    this.attempts = Math.max(1, settings.retry?.attempts ?? 5);
    this.baseDelayMs = settings.retry?.baseDelayMs ?? 500;
    this.maxDelayMs = settings.retry?.maxDelayMs ?? 8_000;
    this.callTimeoutMs = settings.callTimeoutMs ?? 60_000;
    this.operationTimeoutMs = settings.operationTimeoutMs ?? 600_000;
    this.startTimeoutMs = settings.startTimeoutMs ?? 300_000;
    this.pollIntervalMs = settings.pollIntervalMs ?? 2_000;
  }

  get zones(): readonly string[] {
    return this.settings.zones;
  }

  /**
   * Makes the fleet's VM in the first zone that has room, or adopts the one already made for this
   * tenant and fleet (in any configured zone). Resolves when it is RUNNING with an external IP.
   */
  async createOrAdopt(req: CreateOrAdoptRequest): Promise<CreatedVm> {
    const { name, signal } = req;
    if (!INSTANCE_NAME.test(name)) {
      throw new TerminalError(
        `"${name}" is not a valid Compute Engine VM name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters).`,
      );
    }
    const labels = this.labelsFor(req.labels);

    // A VM made by an earlier run (perhaps in a later zone, after a stockout) is adopted, even if
    // GCE has forgotten the requestIds that would have deduplicated its insert.
    const zones = req.zones ?? this.settings.zones;
    for (const zone of zones) {
      const existing = await this.getInstance(zone, name, signal);
      if (existing) return this.adopt(existing, zone, labels, req);
    }

    const skipped: { zone: string; why: 'capacity' | 'quota'; message: string }[] = [];
    for (const [i, zone] of zones.entries()) {
      const requestId = req.requestIdFor(zone);
      const outcome = await this.insertInZone(zone, requestId, labels, req);
      if (outcome.kind === 'created') return outcome.vm;
      skipped.push({ zone, why: outcome.kind, message: outcome.message });
      const what =
        outcome.kind === 'quota'
          ? `zone ${zone} is at a quota limit for ${this.settings.machineType} (${outcome.message})`
          : `zone ${zone} has no ${this.settings.machineType} capacity`;
      const next = zones[i + 1];
      req.log(next ? `${what}; trying ${next}` : `${what}; no zone left to try`);
    }
    throw new TerminalError(exhaustedMessage(this.settings, skipped));
  }

  async describe(name: string, zone: string, signal?: AbortSignal): Promise<VmDescription> {
    const inst = await this.getInstance(zone, name, signal);
    if (!inst) return { state: 'missing', externalIp: null, labels: {} };
    return { state: vmState(inst.status), externalIp: natIp(inst), labels: { ...(inst.labels ?? {}) } };
  }

  async stop(name: string, zone: string, opts: OperationOptions = {}): Promise<void> {
    const requestId = opts.requestId ?? randomUUID();
    const what = `stop VM ${name} in zone ${zone}`;
    const op = await this.mutate(what, opts.signal, () =>
      this.instances.stop({ project: this.settings.project, zone, instance: name, requestId }, { retry: null }),
    );
    this.throwIfFailed(what, await this.waitDone(what, zone, op, opts.signal));
  }

  async start(name: string, zone: string, opts: OperationOptions = {}): Promise<void> {
    const requestId = opts.requestId ?? randomUUID();
    const what = `start VM ${name} in zone ${zone}`;
    const op = await this.mutate(what, opts.signal, () =>
      this.instances.start({ project: this.settings.project, zone, instance: name, requestId }, { retry: null }),
    );
    const done = await this.waitDone(what, zone, op, opts.signal);
    const failure = classifyOperationError(done);
    if (failure?.kind === 'stockout' || failure?.kind === 'quota') {
      throw new TransientError(
        `Could not ${what}: ${failure.kind === 'quota' ? 'a quota limit is reached' : `the zone has no ${this.settings.machineType} capacity right now`} (${failure.message}). It will be tried again; if it keeps failing, free quota or capacity, or recreate the fleet in another zone.`,
      );
    }
    this.throwIfFailed(what, done);
  }

  /** Deletes the VM (and its boot disk, auto-deleted with it). A VM already gone is success. */
  async delete(name: string, zone: string, opts: OperationOptions = {}): Promise<void> {
    const requestId = opts.requestId ?? randomUUID();
    const what = `delete VM ${name} in zone ${zone}`;
    let op: Operation;
    try {
      op = await this.mutate(
        what,
        opts.signal,
        () => this.instances.delete({ project: this.settings.project, zone, instance: name, requestId }, { retry: null }),
        ['notFound'],
      );
    } catch (e) {
      if (e instanceof NotFound) return;
      throw e;
    }
    const done = await this.waitDone(what, zone, op, opts.signal);
    if (classifyOperationError(done)?.kind === 'notFound') return;
    this.throwIfFailed(what, done);
  }

  /** Every VM labelled `managed-by=agent-fleet` in the configured zones (for orphan detection). */
  async listOurs(signal?: AbortSignal): Promise<OurVm[]> {
    const out: OurVm[] = [];
    for (const zone of this.settings.zones) {
      const what = `list Agent Fleet VMs in zone ${zone}`;
      let pageToken: string | undefined;
      do {
        const token = pageToken;
        const [items, , page] = await this.call(what, signal, () =>
          this.instances.list(
            { project: this.settings.project, zone, filter: `labels.managed-by=${MANAGED_BY}`, maxResults: 500, pageToken: token },
            { retry: null, autoPaginate: false },
          ),
        );
        for (const inst of items ?? []) {
          // The filter is GCE's; check again so a stand-in or API change cannot hand us someone else's VM.
          if (inst.labels?.['managed-by'] !== MANAGED_BY || !inst.name) continue;
          out.push({ name: inst.name, zone, state: vmState(inst.status), externalIp: natIp(inst), labels: { ...inst.labels } });
        }
        pageToken = page?.nextPageToken ?? undefined;
      } while (pageToken);
    }
    return out;
  }

  /**
   * Changes the VM's labels (`null` removes one; `managed-by` stays). GCE takes the whole set with
   * the fingerprint of the set it replaces and answers 412 when another change came in between:
   * then it is read and tried again.
   */
  async relabel(name: string, zone: string, changes: Record<string, string | null>, signal?: AbortSignal): Promise<void> {
    const what = `relabel VM ${name} in zone ${zone}`;
    await this.withFingerprint(what, zone, name, signal, (inst, requestId) => {
      const labels: Record<string, string> = { ...(inst.labels ?? {}) };
      for (const [k, v] of Object.entries(changes)) {
        if (v === null) delete labels[k];
        else labels[k] = gceLabelValue(v);
      }
      labels['managed-by'] = MANAGED_BY;
      return this.instances.setLabels(
        {
          project: this.settings.project,
          zone,
          instance: name,
          requestId,
          instancesSetLabelsRequestResource: { labels, labelFingerprint: inst.labelFingerprint ?? null },
        },
        { retry: null },
      );
    });
  }

  /** Replaces the VM's `ssh-keys` metadata with this one key (the guest agent then authorises it alone), keeping the other items. */
  async replaceSshKey(name: string, zone: string, sshPublicKey: string, signal?: AbortSignal): Promise<void> {
    const what = `set the SSH key of VM ${name} in zone ${zone}`;
    await this.withFingerprint(what, zone, name, signal, (inst, requestId) => {
      const items = (inst.metadata?.items ?? []).filter((i) => i.key !== 'ssh-keys');
      items.push({ key: 'ssh-keys', value: `${this.settings.sshUser}:${sshPublicKey.trim()}` });
      return this.instances.setMetadata(
        {
          project: this.settings.project,
          zone,
          instance: name,
          requestId,
          metadataResource: { fingerprint: inst.metadata?.fingerprint ?? null, items },
        },
        { retry: null },
      );
    });
  }

  /** Read, then a fingerprinted change of what was read; a stale fingerprint (412) reads again. */
  private async withFingerprint(
    what: string,
    zone: string,
    name: string,
    signal: AbortSignal | undefined,
    change: (inst: Instance, requestId: string) => Promise<readonly [unknown, ...unknown[]]>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const inst = await this.getInstance(zone, name, signal);
      if (!inst) throw new TerminalError(`Could not ${what}: the VM does not exist.`);
      const requestId = randomUUID();
      let op: Operation;
      try {
        op = await this.mutate(what, signal, () => change(inst, requestId), ['conditionNotMet']);
      } catch (e) {
        if (e instanceof ConditionNotMet && attempt < this.attempts) continue;
        if (e instanceof ConditionNotMet) throw new TransientError(`Could not ${what}: it kept changing under us (${e.message}).`);
        throw e;
      }
      this.throwIfFailed(what, await this.waitDone(what, zone, op, signal));
      return;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.instances.close(), this.operations.close()]);
  }

  // --- create / adopt ---------------------------------------------------------------------

  private labelsFor(l: CreateOrAdoptRequest['labels']): Record<string, string> {
    return { 'managed-by': MANAGED_BY, ...Object.fromEntries(Object.entries(l).map(([k, v]) => [k, gceLabelValue(v)])) };
  }

  private instanceResource(zone: string, labels: Record<string, string>, req: CreateOrAdoptRequest): Instance {
    const s = this.settings;
    return {
      name: req.name,
      machineType: s.machineType.includes('/') ? s.machineType : `zones/${zone}/machineTypes/${s.machineType}`,
      labels,
      ...(s.networkTags?.length ? { tags: { items: s.networkTags } } : {}),
      metadata: {
        items: [
          { key: 'ssh-keys', value: `${s.sshUser}:${req.sshPublicKey.trim()}` },
          { key: 'startup-script', value: req.startupScript },
          // With OS Login on (project metadata or org default) GCE ignores `ssh-keys`; the fleet is
          // reached with its own key, so turn it off for this VM.
          { key: 'enable-oslogin', value: 'FALSE' },
        ],
      },
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: { sourceImage: s.image, ...(s.diskSizeGb ? { diskSizeGb: String(s.diskSizeGb) } : {}) },
        },
      ],
      networkInterfaces: [
        {
          network: s.network.includes('/') ? s.network : `global/networks/${s.network}`,
          accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
        },
      ],
    };
  }

  private async insertInZone(
    zone: string,
    requestId: string,
    labels: Record<string, string>,
    req: CreateOrAdoptRequest,
  ): Promise<{ kind: 'created'; vm: CreatedVm } | { kind: 'capacity' | 'quota'; message: string }> {
    const what = `create VM ${req.name} in zone ${zone}`;
    let op: Operation;
    try {
      op = await this.mutate(
        what,
        req.signal,
        () =>
          this.instances.insert(
            { project: this.settings.project, zone, requestId, instanceResource: this.instanceResource(zone, labels, req) },
            { retry: null },
          ),
        ['alreadyExists'],
      );
    } catch (e) {
      if (e instanceof AlreadyExists) return { kind: 'created', vm: await this.adoptByName(zone, labels, req) };
      throw e;
    }
    const done = await this.waitDone(what, zone, op, req.signal);
    const failure = classifyOperationError(done);
    if (failure) {
      switch (failure.kind) {
        case 'stockout':
          return { kind: 'capacity', message: failure.message };
        case 'quota':
          return { kind: 'quota', message: failure.message };
        case 'alreadyExists':
          return { kind: 'created', vm: await this.adoptByName(zone, labels, req) };
        case 'retryable':
          throw new TransientError(
            `Could not ${what}: Compute Engine failed inside the operation (${failure.message}). It will be tried again.`,
          );
        default:
          throw new TerminalError(
            `Could not ${what}: ${failure.message}${failure.code ? ` (${failure.code})` : ''}. ` +
              'Check FLEET_GCP_IMAGE, FLEET_GCP_NETWORK and FLEET_GCP_MACHINE_TYPE, then retry the fleet.',
          );
      }
    }
    req.log(`VM ${req.name} created in zone ${zone}; waiting for it to run`);
    const inst = await this.waitRunning(zone, req.name, req.signal);
    return { kind: 'created', vm: { name: req.name, zone, externalIp: inst.ip, adopted: false } };
  }

  private async adoptByName(zone: string, labels: Record<string, string>, req: CreateOrAdoptRequest): Promise<CreatedVm> {
    const existing = await this.getInstance(zone, req.name, req.signal);
    // Deleted between GCE's "already exists" and our look: the step's retry will create it.
    if (!existing) throw new TransientError(`VM ${req.name} in zone ${zone} was reported to exist but is gone; it will be created again.`);
    return this.adopt(existing, zone, labels, req);
  }

  private async adopt(inst: Instance, zone: string, labels: Record<string, string>, req: CreateOrAdoptRequest): Promise<CreatedVm> {
    const name = req.name;
    const have = inst.labels ?? {};
    if (have['managed-by'] !== MANAGED_BY) {
      throw new TerminalError(
        `A VM named ${name} already exists in zone ${zone} of project ${this.settings.project} and was not made by Agent Fleet; ` +
          'it was left untouched. Delete or rename that VM (or use another project), then retry the fleet.',
      );
    }
    if (Object.entries(labels).some(([k, v]) => have[k] !== v)) {
      // Never say whose it is: the message is shown to this tenant.
      throw new TerminalError(
        `A VM named ${name} already exists in zone ${zone} but belongs to another Agent Fleet tenant or fleet; it was left untouched. ` +
          'Ask the platform operator to check that VM before retrying.',
      );
    }
    const state = vmState(inst.status);
    if (inst.status === 'SUSPENDED' || inst.status === 'SUSPENDING') {
      throw new TerminalError(
        `VM ${name} in zone ${zone} is suspended. Resume it (gcloud compute instances resume ${name} --zone ${zone}) or delete it, then retry the fleet.`,
      );
    }
    req.log(`VM ${name} already exists in zone ${zone} for this fleet (${(inst.status ?? 'unknown').toLowerCase()}); adopting it`);
    if (state === 'stopped') await this.start(name, zone, { signal: req.signal });
    const running = await this.waitRunning(zone, name, req.signal);
    return { name, zone, externalIp: running.ip, adopted: true };
  }

  /** Polls until RUNNING with an external IP; a VM that stops meanwhile is started once. */
  private async waitRunning(zone: string, name: string, signal: AbortSignal | undefined): Promise<{ ip: string }> {
    const deadline = Date.now() + this.startTimeoutMs;
    let startedIt = false;
    let last = 'unknown';
    for (;;) {
      const inst = await this.getInstance(zone, name, signal);
      if (!inst) throw new TransientError(`VM ${name} in zone ${zone} disappeared while starting; it will be created again.`);
      last = inst.status ?? 'unknown';
      const state = vmState(inst.status);
      const ip = natIp(inst);
      if (state === 'running' && ip) return { ip };
      if (state === 'running' && !inst.networkInterfaces?.[0]?.accessConfigs?.length) {
        throw new TerminalError(
          `VM ${name} in zone ${zone} is running without an external IP (no access config), so it cannot be reached. Delete it and retry the fleet.`,
        );
      }
      if (state === 'stopped' && !startedIt) {
        startedIt = true;
        await this.start(name, zone, { signal });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new TransientError(
          `VM ${name} in zone ${zone} is not running with an external IP after ${Math.round(this.startTimeoutMs / 1000)} s (status ${last}); it will be checked again.`,
        );
      }
      await sleep(this.pollIntervalMs, signal, `waiting for VM ${name} to run`);
    }
  }

  // --- calls, operations, retries ---------------------------------------------------------

  private async getInstance(zone: string, name: string, signal: AbortSignal | undefined): Promise<Instance | undefined> {
    const what = `read VM ${name} in zone ${zone}`;
    try {
      const [inst] = await this.call(
        what,
        signal,
        () => this.instances.get({ project: this.settings.project, zone, instance: name }, { retry: null }),
        { pass: ['notFound'] },
      );
      return inst;
    } catch (e) {
      if (e instanceof NotFound) return undefined;
      throw e;
    }
  }

  /** An insert/stop/start/delete call: its operation. */
  private async mutate(
    what: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<readonly [unknown, ...unknown[]]>,
    pass: Pass[] = [],
  ): Promise<Operation> {
    const [lro] = await this.call(what, signal, fn, { pass });
    // `lro.name` is the operation's numeric id; `wait` needs its name, in latestResponse.
    const op = (lro as { latestResponse?: Operation } | undefined)?.latestResponse;
    if (!op?.name) throw new TransientError(`Could not ${what}: Compute Engine answered without an operation. It will be tried again.`);
    return op;
  }

  private async waitDone(what: string, zone: string, first: Operation, signal: AbortSignal | undefined): Promise<Operation> {
    const deadline = Date.now() + this.operationTimeoutMs;
    let op = first;
    const operation = first.name!;
    while (!isDone(op)) {
      if (Date.now() >= deadline) {
        throw new TransientError(
          `Could not ${what}: its operation is still ${String(op.status ?? 'pending').toLowerCase()} after ${Math.round(this.operationTimeoutMs / 1000)} s. It will be checked again.`,
        );
      }
      const before = Date.now();
      [op] = await this.call(
        `wait for ${what}`,
        signal,
        () => this.operations.wait({ project: this.settings.project, zone, operation }, { retry: null }),
        { timeoutMs: this.callTimeoutMs + WAIT_HOLD_MS },
      );
      // GCE holds `wait` until done (or ~2 min); something answering at once must not make us spin.
      if (!isDone(op) && Date.now() - before < this.pollIntervalMs) await sleep(this.pollIntervalMs, signal, `waiting to ${what}`);
    }
    return op;
  }

  private throwIfFailed(what: string, done: Operation): void {
    const failure = classifyOperationError(done);
    if (!failure) return;
    if (failure.kind === 'retryable') throw new TransientError(`Could not ${what}: ${failure.message}. It will be tried again.`);
    if (failure.kind === 'notFound') throw new TerminalError(`Could not ${what}: the VM does not exist (${failure.message}).`);
    throw new TerminalError(`Could not ${what}: ${failure.message}${failure.code ? ` (${failure.code})` : ''}.`);
  }

  /**
   * One API call with our retry policy: 5xx, 429 and network errors (and no answer within the
   * deadline) are retried with exponential backoff and jitter, honouring Retry-After, up to
   * `attempts` times; `fn` is called again as is, so a requestId inside it is reused. Not-found
   * and already-exists come out as `NotFound` / `AlreadyExists` for the caller to decide; the
   * rest as step errors.
   */
  private async call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    { timeoutMs = this.callTimeoutMs, pass = [] }: { timeoutMs?: number; pass?: Pass[] } = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal, what);
      let parsed: GcpError;
      try {
        return await deadline(fn(), timeoutMs, signal, what);
      } catch (e) {
        if (e instanceof Aborted) throw cancelled(what, e);
        parsed = parseGcpError(e);
        if (parsed.kind === 'notFound' && pass.includes('notFound')) throw new NotFound(parsed.message);
        if (parsed.kind === 'alreadyExists' && pass.includes('alreadyExists')) throw new AlreadyExists(parsed.message);
        if (parsed.kind === 'conditionNotMet' && pass.includes('conditionNotMet')) throw new ConditionNotMet(parsed.message);
        if (parsed.kind !== 'retryable') throw terminalFor(what, parsed, this.settings.project, e);
        if (attempt >= this.attempts) {
          throw new TransientError(`Could not ${what}: Compute Engine ${describeRetryable(parsed)} ${attempt} times in a row.`, {
            cause: e,
            retryAfterMs: parsed.retryAfterMs,
          });
        }
      }
      const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      await sleep(Math.max(jittered, Math.min(parsed.retryAfterMs ?? 0, this.maxDelayMs * 4)), signal, what);
    }
  }
}

/** Answers a call hands to its caller instead of turning them into step errors. */
type Pass = 'notFound' | 'alreadyExists' | 'conditionNotMet';

class NotFound extends Error {}
class ConditionNotMet extends Error {}
class AlreadyExists extends Error {}
class Aborted extends Error {}

function endpointOptions(apiEndpoint: string | undefined): { apiEndpoint?: string; port?: number; protocol?: string } {
  if (!apiEndpoint) return {};
  // The library wants host and port apart; a port inside apiEndpoint is ignored.
  const url = new URL(apiEndpoint.includes('://') ? apiEndpoint : `https://${apiEndpoint}`);
  const protocol = url.protocol.replace(':', '');
  return { apiEndpoint: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

function isDone(op: Operation): boolean {
  // An enum: the string when decoded as usual, the number with numeric enums.
  const s = op.status as unknown;
  return s === 'DONE' || s === DONE;
}

function natIp(inst: Instance): string | null {
  for (const nic of inst.networkInterfaces ?? []) {
    for (const ac of nic.accessConfigs ?? []) if (ac.natIP) return ac.natIP;
  }
  return null;
}

function exhaustedMessage(s: GcpComputeSettings, skipped: { zone: string; why: 'capacity' | 'quota' }[]): string {
  const capacity = skipped.filter((x) => x.why === 'capacity').map((x) => x.zone);
  const quota = skipped.filter((x) => x.why === 'quota').map((x) => x.zone);
  const parts: string[] = [];
  if (capacity.length) parts.push(`no ${s.machineType} capacity in ${capacity.join(', ')}`);
  if (quota.length) parts.push(`a quota limit in ${quota.join(', ')}`);
  return (
    `Could not create the fleet's VM in any configured zone: ${parts.join('; ')}. ` +
    'Add another zone to FLEET_GCP_ZONES, choose another FLEET_GCP_MACHINE_TYPE, or request a quota increase ' +
    `for project ${s.project} (IAM & Admin → Quotas), then retry the fleet.`
  );
}

function describeRetryable(p: GcpError): string {
  if (p.status === undefined) return `could not be reached (${p.reason ?? 'network error'})`;
  if (p.status === 429 || p.reason === 'rateLimitExceeded' || p.reason === 'userRateLimitExceeded')
    return `rate-limited the request (HTTP ${p.status})`;
  return `answered HTTP ${p.status} (${p.message})`;
}

function terminalFor(what: string, p: GcpError, project: string, cause: unknown): TerminalError {
  let advice = 'Fix the cause and retry the fleet.';
  if (p.status === 401) advice = 'Check the Compute Engine credentials (FLEET_GCP_ACCESS_TOKEN or Application Default Credentials).';
  else if (p.status === 403)
    advice = `Check that the credentials may manage VMs in project ${project} (e.g. the Compute Instance Admin role).`;
  else if (p.status === 404) advice = 'It may have been deleted outside Agent Fleet; check FLEET_GCP_PROJECT and FLEET_GCP_ZONES.';
  else if (p.status === 400) advice = 'Check FLEET_GCP_ZONES, FLEET_GCP_MACHINE_TYPE, FLEET_GCP_IMAGE and FLEET_GCP_NETWORK.';
  const status = p.status === undefined ? '' : ` (HTTP ${p.status}${p.reason ? ` ${p.reason}` : ''})`;
  return new TerminalError(`Could not ${what}: ${p.message}${status}. ${advice}`, { cause });
}

function cancelled(what: string, e: Aborted): TransientError {
  return new TransientError(`Stopped before it finished: ${what} (the run was cancelled or timed out).`, { cause: e.cause });
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelled(what, new Aborted('aborted', { cause: signal.reason }));
}

/** `p`, or a retryable ETIMEDOUT after `ms`, or `Aborted` on abort. A lost request is abandoned, not cancelled. */
function deadline<T>(p: Promise<T>, ms: number, signal: AbortSignal | undefined, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish();
      reject(Object.assign(new Error(`no answer within ${Math.round(ms / 1000)} s to ${what}`), { code: 'ETIMEDOUT' }));
    }, ms);
    const onAbort = () => {
      finish();
      reject(new Aborted('aborted', { cause: signal?.reason }));
    };
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        finish();
        resolve(v);
      },
      (e: unknown) => {
        finish();
        reject(e);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(what, new Aborted('aborted', { cause: signal.reason })));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(what, new Aborted('aborted', { cause: signal?.reason })));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
