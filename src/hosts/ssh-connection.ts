import { createHash } from 'node:crypto';
import ssh2, { type Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { TerminalError, TransientError } from '../domain/step-errors.ts';

/**
 * SshHost's one SSH connection to a machine: opened at first use, opened again after a drop, its
 * host key pinned. Everything else (SFTP, commands, forwarded ports) asks it for channels.
 */

export interface SshHostKeyPolicy {
  /** The fingerprint pinned at first contact (`SHA256:<base64>`; the prefix and padding are optional). */
  expected?: string;
  /** Called with the fingerprint when nothing is pinned yet, before the connection is used; store it now. */
  onFirstContact(fingerprint: string): Promise<void>;
}

export interface SshConnectOptions {
  host: string;
  port: number;
  username: string;
  /** OpenSSH-format private key. */
  privateKey: string;
  hostKey: SshHostKeyPolicy;
  connectTimeoutMs: number;
}

/** The machine answered with another host key than the one pinned at first contact. Terminal: never retried. */
export class HostKeyMismatchError extends TerminalError {
  constructor(
    readonly address: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `The SSH host key of the fleet's VM (${address}) changed: it was ${expected} at first contact and is now ${actual}. ` +
        'Nothing was sent to the machine. If the VM was recreated, clear the fleet’s pinned host key and retry; ' +
        'if it was not, someone may be intercepting the connection: do not retry, investigate.',
    );
    this.name = 'HostKeyMismatchError';
  }
}

/** `SHA256:<base64, unpadded>` of a host key blob, as `ssh-keygen -l` and OpenSSH's own prompts print it. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

const bare = (fingerprint: string) => fingerprint.replace(/^SHA256:/, '').replace(/=+$/, '');

/** sshd allows 10 sessions per connection by default (MaxSessions); SFTP holds one of them. */
const MAX_SESSION_CHANNELS = 8;

export class SshConnection {
  private pending: Promise<Client> | undefined;
  private live: Client | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private sftpOpen: SFTPWrapper | undefined;
  /** Once a key was accepted, a reconnect of this same host must meet the same key. */
  private pinned: string | undefined;
  private sessions = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly opts: SshConnectOptions) {
    this.pinned = opts.hostKey.expected;
  }

  get address(): string {
    return `${this.opts.username}@${this.opts.host}:${this.opts.port}`;
  }

  /**
   * A command channel: `command` is run by the remote user's login shell. `onOpen` gets the channel
   * synchronously, in ssh2's callback: a quick command's exit status and close may arrive in the
   * same packet batch as the channel's confirmation, before any promise continuation would run.
   * `unlimited` skips the session limit (for the kill of a timed-out command, which must not wait behind it).
   */
  async exec(command: string, onOpen: (channel: ClientChannel) => void, opts: { unlimited?: boolean } = {}): Promise<void> {
    const limited = !opts.unlimited;
    if (limited) await this.acquireSession();
    const open = () =>
      this.withClient(
        (client) =>
          new Promise<void>((resolve, reject) =>
            client.exec(command, (e, channel) => {
              if (e) return reject(e);
              if (limited) channel.once('close', () => this.releaseSession());
              onOpen(channel);
              resolve();
            }),
          ),
      );
    try {
      // sshd frees a session slot a moment after the channel closed on our side, so under load a
      // new session can be refused ("open failed") although we stay below MaxSessions. Nothing ran:
      // try again shortly.
      for (let attempt = 1; ; attempt++) {
        try {
          return await open();
        } catch (e) {
          if (attempt >= 6 || !/open failed/.test((e as Error).message)) throw e;
          await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
        }
      }
    } catch (e) {
      if (limited) this.releaseSession();
      throw e;
    }
  }

  sftp(): Promise<SFTPWrapper> {
    if (this.sftpSession) return this.sftpSession;
    const session = this.withClient(
      (client) => new Promise<SFTPWrapper>((resolve, reject) => client.sftp((e, sftp) => (e ? reject(e) : resolve(sftp)))),
    ).then(
      (sftp) => {
        this.sftpOpen = sftp;
        sftp.once('close', () => this.dropSftp(sftp));
        return sftp;
      },
      (e: unknown) => {
        if (this.sftpSession === session) this.sftpSession = undefined;
        throw e;
      },
    );
    this.sftpSession = session;
    return session;
  }

  /** Forgets an SFTP session that lost its channel (its 'close' may not have been seen yet). */
  dropSftp(sftp: SFTPWrapper | undefined): void {
    if (sftp === undefined || sftp !== this.sftpOpen) return;
    this.sftpOpen = undefined;
    this.sftpSession = undefined;
  }

  /** A TCP connection from the machine to `host`:`port` (default its own 127.0.0.1), through the SSH connection. */
  forward(port: number, host = '127.0.0.1'): Promise<ClientChannel> {
    return this.withClient(
      (client) => new Promise((resolve, reject) => client.forwardOut('127.0.0.1', 0, host, port, (e, ch) => (e ? reject(e) : resolve(ch)))),
    );
  }

  async close(): Promise<void> {
    const client = this.live ?? (await this.pending?.catch(() => undefined));
    this.forget();
    if (!client) return;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.end();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  /**
   * Runs `open` on the live connection. When it fails because the connection dropped meanwhile (the
   * request never reached the machine), it is tried once more on a new connection.
   */
  private async withClient<T>(open: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      return await open(client);
    } catch (e) {
      if (this.live === client) throw e;
      return open(await this.client());
    }
  }

  private client(): Promise<Client> {
    if (this.live) return Promise.resolve(this.live);
    this.pending ??= this.connect().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private forget(): void {
    this.live = undefined;
    this.pending = undefined;
    this.sftpSession = undefined;
    this.sftpOpen = undefined;
  }

  private connect(): Promise<Client> {
    const { host, port, username, privateKey, connectTimeoutMs, hostKey } = this.opts;
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let refusal: Error | undefined;
      let ready = false;
      client.on('ready', () => {
        ready = true;
        this.live = client;
        resolve(client);
      });
      // After 'ready' an error is followed by 'close', which is what matters: the next use reconnects.
      client.on('error', (e) => {
        if (!ready) reject(refusal ?? this.unreachable(e));
      });
      client.on('close', () => {
        if (this.live === client) this.forget();
        if (!ready) reject(refusal ?? this.unreachable(new Error('the connection closed during the handshake')));
      });
      client.connect({
        host,
        port,
        username,
        privateKey,
        readyTimeout: connectTimeoutMs,
        // A dead peer is noticed in about 30 s, so the next operation reconnects instead of hanging.
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          const seen = sshFingerprint(key);
          if (this.pinned !== undefined) {
            if (bare(this.pinned) === bare(seen)) return verify(true);
            refusal = new HostKeyMismatchError(`${host}:${port}`, this.pinned, seen);
            return verify(false);
          }
          hostKey.onFirstContact(seen).then(
            () => {
              this.pinned = seen;
              verify(true);
            },
            (e: unknown) => {
              refusal = new TransientError(`Could not store the SSH host key of ${host}:${port} (${(e as Error).message}); retry.`, {
                cause: e,
              });
              verify(false);
            },
          );
        },
      });
    });
  }

  private unreachable(e: Error): TransientError {
    const hint = /authentication methods failed/.test(e.message) ? ' (a new VM may not have taken the fleet’s key yet)' : '';
    return new TransientError(`Cannot reach ${this.address} over SSH: ${e.message}${hint}.`, { cause: e });
  }

  private async acquireSession(): Promise<void> {
    while (this.sessions >= MAX_SESSION_CHANNELS) await new Promise<void>((r) => this.waiting.push(r));
    this.sessions++;
  }

  private releaseSession(): void {
    this.sessions--;
    this.waiting.shift()?.();
  }
}
