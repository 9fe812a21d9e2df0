import { afterAll, beforeAll, describe } from 'vitest';
import { execContract } from './contract-exec.ts';
import { fileContract } from './contract-files.ts';
import { serviceContract } from './contract-services.ts';
import { type HostFixture, localFixture, sshFixture } from './fixtures.ts';

/**
 * The Host contract: one suite, run against every Host. A new host passes it before a step runs on
 * it (docs/architecture.md, "A new driver"). SshHost runs against a real sshd on this machine
 * (test/hosts/sshd.ts; scripts/ensure-sshd.sh installs it where it is missing).
 */
describe.each([
  { name: 'LocalHost', make: localFixture },
  { name: 'SshHost', make: sshFixture },
])('$name', ({ make }) => {
  let fixture: HostFixture;
  beforeAll(async () => {
    fixture = await make();
  }, 180_000); // a clean CI machine installs openssh-server first
  afterAll(() => fixture?.cleanup());
  const fx = () => fixture;

  describe('files', () => fileContract(fx));
  describe('exec', () => execContract(fx));
  describe('services and HTTP', () => serviceContract(fx));
});
