import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets at rest. Layout: version(1) || iv(12) || tag(16) || ciphertext. The
 * context (e.g. `flt_…/discord_bot_token:cantona`) is authenticated data, so a ciphertext copied
 * to another row or fleet does not open.
 */
const VERSION = 1;

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key (FLEET_SECRETS_KEY: 64 hex characters)');
  }

  static fromHex(hex: string): SecretBox {
    return new SecretBox(Buffer.from(hex, 'hex'));
  }

  /** For handing the same key to a child process in tests. */
  keyHex(): string {
    return this.key.toString('hex');
  }

  seal(plaintext: string, context: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), data]);
  }

  open(sealed: Buffer, context: string): string {
    if (sealed.length < 29 || sealed[0] !== VERSION) throw new Error(`secret ${context} is not in a format this version can read`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(1, 13));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(sealed.subarray(13, 29));
      return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`secret ${context} could not be decrypted: wrong FLEET_SECRETS_KEY, or the stored value was altered`);
    }
  }
}
