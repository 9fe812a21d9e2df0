import ssh2 from 'ssh2';

// ssh2 is CommonJS: its named exports are not visible to ESM imports.
const { utils } = ssh2;

/**
 * A fleet's SSH identity: an ed25519 key pair, the private half kept encrypted with the fleet's
 * secrets. ssh2's generator drops a leading zero byte of the public key, so about one key in 256
 * (79 of 20,000 here) is written malformed and never parses again: that fleet's vm_create failed
 * with "Malformed OpenSSH private key". Such a key is thrown away and another one drawn.
 */
export function generateSshKey(): string {
  for (let attempt = 0; attempt < 16; attempt++) {
    const key = utils.generateKeyPairSync('ed25519').private;
    if (!(utils.parseKey(key) instanceof Error)) return key;
  }
  throw new Error('could not generate an SSH key that parses (16 malformed in a row)');
}

/** The OpenSSH public key line (`ssh-ed25519 AAAA…`) of a private key, for instance metadata. */
export function publicKeyOf(privateKey: string, comment = ''): string {
  const key = utils.parseKey(privateKey);
  if (key instanceof Error) throw new Error(`the fleet's SSH key does not parse: ${key.message}`);
  const parsed = Array.isArray(key) ? key[0] : key;
  if (!parsed) throw new Error("the fleet's SSH key is empty");
  return `${parsed.type} ${parsed.getPublicSSH().toString('base64')}${comment ? ` ${comment}` : ''}`;
}
