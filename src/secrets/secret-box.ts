import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * AES-256-GCM for secrets at rest. Layout: version(1) || iv(12) || tag(16) || ciphertext. The
 * context (e.g. `flt_…/discord_bot_token:cantona`) is authenticated data, so a ciphertext copied
 * to another row or fleet does not open.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

export class SecretBox {
  // A private field, not a property: a box that ends up in a logged object or JSON.stringify
  // must not carry the key with it.
  readonly #key: Buffer;

  /** `key`: 32 random bytes. The box keeps its own copy. */
  constructor(key: Buffer) {
    if (!Buffer.isBuffer(key) || key.length !== 32) {
      throw new Error('SecretBox needs a 32-byte key (FLEET_SECRETS_KEY: 64 hex characters)');
    }
    this.#key = Buffer.from(key);
  }

  /** A box from 64 hex characters, as FLEET_SECRETS_KEY holds them. */
  static fromHex(hex: string): SecretBox {
    // Buffer.from(…, 'hex') silently stops at the first bad character: check the text first.
    if (!/^[0-9a-fA-F]{64}$/.test(hex.trim())) {
      throw new Error('FLEET_SECRETS_KEY must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`');
    }
    return new SecretBox(Buffer.from(hex.trim(), 'hex'));
  }

  /** For handing the same key to a child process in tests. */
  keyHex(): string {
    return this.#key.toString('hex');
  }

  /** Encrypts `plaintext`, binding it to `context`; a fresh IV every call. */
  seal(plaintext: string, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), data]);
  }

  /** Decrypts what `seal` made with the same key and context; throws (without the secret) otherwise. */
  open(sealed: Buffer, context: string): string {
    if (sealed.length < HEADER_BYTES || sealed[0] !== VERSION) {
      throw new Error(`secret ${context} is not in a format this version can read (expected version ${VERSION})`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, HEADER_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      // No cause attached: crypto errors say nothing useful, and nothing of the data may leak.
      throw new Error(
        `secret ${context} could not be decrypted: wrong FLEET_SECRETS_KEY, or the stored value was altered or belongs to another fleet. ` +
          'Set the key this data was written with, or store the secret again.',
      );
    }
  }

  toJSON(): string {
    return '[SecretBox]';
  }

  [inspect.custom](): string {
    return '[SecretBox]';
  }
}
