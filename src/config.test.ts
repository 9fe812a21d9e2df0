import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('runs on defaults with no environment at all (dev sign-in, embedded database)', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ env: 'development', port: 3000, clerk: undefined, databaseUrl: undefined });
    expect(c.dataDir).toMatch(/\.fleet$/);
  });

  it('refuses production without Clerk and names every missing variable', () => {
    try {
      loadConfig({ NODE_ENV: 'production' });
      expect.fail('should have thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      for (const name of ['CLERK_JWT_KEY', 'CLERK_PUBLISHABLE_KEY', 'FLEET_PLATFORM_TOKEN', 'FLEET_SECRETS_KEY']) {
        expect(problems).toContain(name);
      }
    }
  });

  it('lists every bad value at once', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'not a url', FLEET_SECRETS_KEY: 'short', CLERK_PUBLISHABLE_KEY: 'nope' });
      expect.fail('should have thrown');
    } catch (e) {
      const names = (e as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(names).toEqual(
        expect.arrayContaining(['PORT', 'DATABASE_URL', 'FLEET_SECRETS_KEY', 'CLERK_PUBLISHABLE_KEY', 'CLERK_JWT_KEY']),
      );
    }
  });

  it('takes real Clerk settings, with the authorized parties as a list', () => {
    const c = loadConfig({
      CLERK_JWT_KEY: '-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----',
      CLERK_PUBLISHABLE_KEY: 'pk_live_Y2xlcmsuZXhhbXBsZS5jb20k',
      CLERK_AUTHORIZED_PARTIES: 'https://a.example, https://b.example',
    });
    expect(c.clerk?.authorizedParties).toEqual(['https://a.example', 'https://b.example']);
    expect(c.clerk?.jwtKey).toContain('\nabc\n');
    expect(c.clerk?.secretKey).toBeUndefined();
  });

  it('treats empty strings as unset rather than as values', () => {
    expect(loadConfig({ DATABASE_URL: '', CLERK_JWT_KEY: ' ' }).databaseUrl).toBeUndefined();
  });
});
