import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/harness/db.ts';
import { createTenantWithFleet } from '../db/tenant-create.ts';
import { TemplateRegistry } from '../templates/registry.ts';
import { SecretBox } from './secret-box.ts';
import { getSecrets, putSecretIfAbsent, putSecrets } from './store.ts';

let database: TestDatabase;
const fleets: string[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
  const template = TemplateRegistry.load().get('solo-engineer')!;
  for (const slug of ['sec_a', 'sec_b']) {
    const r = await createTenantWithFleet(database.db, { slug, name: slug, plan: 'free', clerkOrgId: `org_${slug.replace('_', '')}`, clerkUserId: null, template, actor: 't' });
    if (r.kind !== 'created') throw new Error('setup');
    const f = await database.db.selectFrom('fleets').select('id').where('tenant_id', '=', r.tenant.id).executeTakeFirstOrThrow();
    fleets.push(f.id);
  }
});
afterAll(() => database.drop());

describe('secrets at rest', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips, and the stored bytes do not contain the plaintext', async () => {
    await putSecrets(database.db, box, fleets[0]!, { discord: 'plain-token-value-123', mc: 'mc-value' });
    expect(await getSecrets(database.db, box, fleets[0]!)).toEqual({ discord: 'plain-token-value-123', mc: 'mc-value' });
    const rows = await database.db.selectFrom('fleet_secrets').select('ciphertext').execute();
    for (const r of rows) expect(r.ciphertext.toString('latin1')).not.toContain('plain-token');
    await putSecrets(database.db, box, fleets[0]!, { discord: 'rotated' });
    expect((await getSecrets(database.db, box, fleets[0]!)).discord).toBe('rotated');
  });

  it('generates once: a second putSecretIfAbsent returns the first value', async () => {
    expect(await putSecretIfAbsent(database.db, box, fleets[1]!, 'gateway_token', 'first')).toBe('first');
    expect(await putSecretIfAbsent(database.db, box, fleets[1]!, 'gateway_token', 'second')).toBe('first');
  });

  it('refuses a wrong key, a tampered value, and a value moved to another fleet — without echoing secrets', async () => {
    await expect(getSecrets(database.db, new SecretBox(randomBytes(32)), fleets[1]!)).rejects.toThrow(/wrong FLEET_SECRETS_KEY/);
    const sealed = box.seal('s3cret', 'flt_a/x');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => box.open(tampered, 'flt_a/x')).toThrow(/could not be decrypted/);
    expect(() => box.open(sealed, 'flt_b/x')).toThrow(/could not be decrypted/);
    try {
      box.open(tampered, 'flt_a/x');
    } catch (e) {
      expect(String(e)).not.toContain('s3cret');
    }
  });

  it('insists on a 32-byte key', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32-byte key/);
  });
});
