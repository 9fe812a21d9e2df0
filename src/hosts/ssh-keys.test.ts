import { describe, expect, it } from 'vitest';
import { generateSshKey, publicKeyOf } from './ssh-keys.ts';

describe('fleet SSH keys', () => {
  // ssh2's own generator writes about one key in 256 malformed: 2,000 keys meet one almost surely.
  it('generates keys that always parse back to an ed25519 public key', () => {
    for (let i = 0; i < 2000; i++) {
      expect(publicKeyOf(generateSshKey(), 'c')).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* c$/);
    }
  });

  it('says so when a stored key does not parse', () => {
    expect(() => publicKeyOf('-----BEGIN OPENSSH PRIVATE KEY-----\nnonsense\n-----END OPENSSH PRIVATE KEY-----\n')).toThrow(
      "the fleet's SSH key does not parse",
    );
  });
});
