import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, tenantsWithFleets } from '../../test/harness/db.ts';
import { SecretBox } from '../secrets/secret-box.ts';
import { deleteSecrets, getSecrets, putSecretIfAbsent, putSecrets } from './secrets.ts';

let database: TestDatabase;
const fleets: string[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
  fleets.push(...(await tenantsWithFleets(database.db, ['sec_a', 'sec_b', 'sec_c', 'sec_d'])).map((t) => t.fleetId));
});
afterAll(() => database.drop());

const fleet = (i: number) => fleets[i]!;

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('seals to version || iv || tag || ciphertext, with a fresh IV each time', () => {
    const a = box.seal('hello', 'flt_a/x');
    const b = box.seal('hello', 'flt_a/x');
    expect(a[0]).toBe(1);
    expect(a.length).toBe(1 + 12 + 16 + 5);
    expect(a.equals(b)).toBe(false);
    expect(box.open(a, 'flt_a/x')).toBe('hello');
    expect(box.open(box.seal('', 'c'), 'c')).toBe('');
    expect(box.open(box.seal('ünïcødé ✓', 'c'), 'c')).toBe('ünïcødé ✓');
  });

  it('refuses a wrong key, a tampered value, another context and an unknown version — without echoing the secret', () => {
    const sealed = box.seal('s3cret', 'flt_a/x');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    const attempts = [
      () => new SecretBox(randomBytes(32)).open(sealed, 'flt_a/x'),
      () => box.open(tampered, 'flt_a/x'),
      () => box.open(sealed, 'flt_b/x'),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(/could not be decrypted: wrong FLEET_SECRETS_KEY/);
      try {
        attempt();
      } catch (e) {
        expect(inspect(e)).not.toContain('s3cret');
      }
    }
    const v2 = Buffer.from(sealed);
    v2[0] = 2;
    expect(() => box.open(v2, 'flt_a/x')).toThrow(/not in a format this version can read/);
    expect(() => box.open(Buffer.alloc(10), 'flt_a/x')).toThrow(/not in a format/);
  });

  it('insists on a 32-byte key, given as 64 hex characters', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32-byte key/);
    expect(() => SecretBox.fromHex('zz'.repeat(32))).toThrow(/64 hex characters/);
    expect(() => SecretBox.fromHex('ab'.repeat(16))).toThrow(/64 hex characters/);
    const hex = randomBytes(32).toString('hex');
    const fromHex = SecretBox.fromHex(`${hex}\n`);
    expect(fromHex.keyHex()).toBe(hex);
    expect(SecretBox.fromHex(hex).open(fromHex.seal('v', 'c'), 'c')).toBe('v');
  });

  it('does not reveal its key when logged or serialised', () => {
    const key = randomBytes(32);
    const b = new SecretBox(key);
    const shown = [JSON.stringify({ b }), inspect(b), inspect({ b }, { depth: 5, showHidden: true }), String(Object.keys(b))];
    for (const s of shown) {
      expect(s).not.toContain(key.toString('hex'));
      expect(s).not.toContain(`${String(key[0])},${String(key[1])}`);
    }
    key.fill(0); // the caller's buffer changing later does not change the box
    expect(b.open(b.seal('x', 'c'), 'c')).toBe('x');
  });
});

describe('secrets at rest', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips, and the stored bytes do not contain the plaintext', async () => {
    await putSecrets(database.db, box, fleet(0), { discord: 'plain-token-value-123', mc: 'mc-value-456' });
    expect(await getSecrets(database.db, box, fleet(0))).toEqual({ discord: 'plain-token-value-123', mc: 'mc-value-456' });
    const rows = await database.db.selectFrom('fleet_secrets').select('ciphertext').where('fleet_id', '=', fleet(0)).execute();
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      for (const enc of ['latin1', 'utf8', 'hex', 'base64'] as const)
        expect(r.ciphertext.toString(enc)).not.toMatch(/plain-token|mc-value/);
    }
    await putSecrets(database.db, box, fleet(0), { discord: 'rotated' });
    expect(await getSecrets(database.db, box, fleet(0))).toEqual({ discord: 'rotated', mc: 'mc-value-456' });
    await putSecrets(database.db, box, fleet(0), {}); // nothing to do
  });

  it('generates once: later or concurrent putSecretIfAbsent calls return the first value', async () => {
    expect(await putSecretIfAbsent(database.db, box, fleet(1), 'gateway_token', 'first')).toBe('first');
    expect(await putSecretIfAbsent(database.db, box, fleet(1), 'gateway_token', 'second')).toBe('first');
    const racers = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((v) => putSecretIfAbsent(database.db, box, fleet(2), 'gateway_token', v)),
    );
    expect(new Set(racers).size).toBe(1);
  });

  it('fails with the wrong key', async () => {
    await expect(getSecrets(database.db, new SecretBox(randomBytes(32)), fleet(1))).rejects.toThrow(/wrong FLEET_SECRETS_KEY/);
  });

  it('a row moved to another fleet, or renamed, does not open', async () => {
    await putSecrets(database.db, box, fleet(3), { moved: 'belongs-to-fleet-3' });
    await database.db
      .updateTable('fleet_secrets')
      .set({ fleet_id: fleet(2) })
      .where('fleet_id', '=', fleet(3))
      .where('name', '=', 'moved')
      .execute();
    const err = await getSecrets(database.db, box, fleet(2)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`secret ${fleet(2)}/moved could not be decrypted`));
    expect((err as Error).message).not.toContain('belongs-to-fleet-3');
    await database.db
      .updateTable('fleet_secrets')
      .set({ fleet_id: fleet(3), name: 'renamed' })
      .where('fleet_id', '=', fleet(2))
      .where('name', '=', 'moved')
      .execute();
    await expect(getSecrets(database.db, box, fleet(3))).rejects.toThrow(/renamed could not be decrypted/);
    await deleteSecrets(database.db, fleet(3), ['renamed']);
  });

  it('works inside a transaction: rolled back means not stored', async () => {
    await database.db
      .transaction()
      .execute(async (trx) => {
        await putSecrets(trx, box, fleet(3), { in_tx: 'rolled-back' });
        expect(await getSecrets(trx, box, fleet(3))).toEqual({ in_tx: 'rolled-back' });
        throw new Error('roll back');
      })
      .catch(() => {});
    expect(await getSecrets(database.db, box, fleet(3))).toEqual({});
    await database.db.transaction().execute(async (trx) => {
      await putSecrets(trx, box, fleet(3), { in_tx: 'committed' });
      expect(await putSecretIfAbsent(trx, box, fleet(3), 'gen', 'g1')).toBe('g1');
    });
    expect(await getSecrets(database.db, box, fleet(3))).toEqual({ in_tx: 'committed', gen: 'g1' });
  });

  it('deletes the named secrets, none for an empty list, all without a list', async () => {
    await putSecrets(database.db, box, fleet(3), { a: '1', b: '2', c: '3' });
    await deleteSecrets(database.db, fleet(3), ['a']);
    await deleteSecrets(database.db, fleet(3), []);
    expect(Object.keys(await getSecrets(database.db, box, fleet(3))).sort()).toEqual(['b', 'c', 'gen', 'in_tx']);
    await deleteSecrets(database.db, fleet(3));
    expect(await getSecrets(database.db, box, fleet(3))).toEqual({});
    expect(Object.keys(await getSecrets(database.db, box, fleet(0))).length).toBe(2); // other fleets untouched
  });
});
