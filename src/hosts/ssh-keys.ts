import ssh2 from 'ssh2';

// ssh2 is CommonJS: its named exports are not visible to ESM imports.
const { utils } = ssh2;

/** A fleet's SSH identity: an ed25519 key pair, the private half kept encrypted with the fleet's secrets. */
export function generateSshKey(): string {
  return utils.generateKeyPairSync('ed25519').private;
}

/** The OpenSSH public key line (`ssh-ed25519 AAAA…`) of a private key, for instance metadata. */
export function publicKeyOf(privateKey: string, comment = ''): string {
  const key = utils.parseKey(privateKey);
  if (key instanceof Error) throw new Error(`the fleet's SSH key does not parse: ${key.message}`);
  const parsed = Array.isArray(key) ? key[0] : key;
  if (!parsed) throw new Error("the fleet's SSH key is empty");
  return `${parsed.type} ${parsed.getPublicSSH().toString('base64')}${comment ? ` ${comment}` : ''}`;
}
