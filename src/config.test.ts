import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadClientConfig, loadConfig } from './config.ts';

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
      for (const name of [
        'CLERK_JWT_KEY',
        'CLERK_PUBLISHABLE_KEY',
        'CLERK_AUTHORIZED_PARTIES',
        'FLEET_PLATFORM_TOKEN',
        'FLEET_SECRETS_KEY',
      ]) {
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

describe('loadConfig: every setting is checked here', () => {
  const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };

  it('refuses step names and fault kinds it does not know, naming the variable and the known ones', () => {
    expect(problemsOf({ FLEET_STEP_TIMEOUTS: 'gateway_start=1000,gatway_start=5' })).toEqual([
      expect.stringMatching(/^FLEET_STEP_TIMEOUTS: unknown step 'gatway_start'; steps: vm_create, .*deprovision_proof$/),
    ]);
    const faults = problemsOf({ FLEET_TEST_FAULTS: 'vm_create:explode,nostep:throw' });
    expect(faults).toHaveLength(2);
    expect(faults.join('\n')).toMatch(/FLEET_TEST_FAULTS: unknown fault 'explode'; faults: throw, transient, hang, kill/);
    expect(faults.join('\n')).toMatch(/FLEET_TEST_FAULTS: unknown step 'nostep'/);
    expect(loadConfig({ FLEET_STEP_TIMEOUTS: 'gateway_start=600000' }).pipeline.stepTimeouts).toEqual({ gateway_start: 600000 });
  });

  it('takes plan limits over the defaults, and refuses unknown plans, limits and values, naming each', () => {
    const plans = loadConfig({ FLEET_PLAN_LIMITS: 'free.repos=3,pro.concurrentRuns=4' }).limits.plans;
    expect(plans.free).toMatchObject({ repos: 3, agents: 7 });
    expect(plans.pro.concurrentRuns).toBe(4);
    expect(loadConfig({}).limits.plans.free).toEqual({ agents: 7, repos: 5, repoMb: 200, concurrentRuns: 1, provisionsPerHour: 10 });
    const problems = problemsOf({ FLEET_PLAN_LIMITS: 'gold.repos=3,free.seats=2,free.repos=0,free.repos' });
    expect(problems).toEqual([
      "FLEET_PLAN_LIMITS: unknown plan 'gold'; plans: free, pro, team, enterprise",
      "FLEET_PLAN_LIMITS: unknown limit 'seats'; limits: agents, repos, repoMb, concurrentRuns, provisionsPerHour",
      'FLEET_PLAN_LIMITS: free.repos must be at least 1',
      "FLEET_PLAN_LIMITS: 'free.repos' must look like plan.limit=number",
    ]);
  });

  it('refuses the stand-in gateway in production, like fault injection', () => {
    const problems = problemsOf({ NODE_ENV: 'production', FLEET_GATEWAY_COMMAND: '/tmp/standin.mjs' });
    expect(problems).toContain('FLEET_GATEWAY_COMMAND: the stand-in gateway is for tests and is refused in production');
    expect(loadConfig({ FLEET_GATEWAY_COMMAND: 'test/gateway/standin-gateway.mjs' }).pipeline.gatewayCommand).toMatch(
      /^\/.*\/test\/gateway\/standin-gateway\.mjs$/,
    );
  });

  it('puts the runtime cache in FLEET_RUNTIME_CACHE_DIR, else XDG_CACHE_HOME/agent-fleet, else ~/.cache/agent-fleet (root: /var/cache)', () => {
    expect(loadConfig({ FLEET_RUNTIME_CACHE_DIR: '/a', XDG_CACHE_HOME: '/b' }).pipeline.runtimeCacheDir).toBe('/a');
    expect(loadConfig({ XDG_CACHE_HOME: '/b' }).pipeline.runtimeCacheDir).toBe('/b/agent-fleet');
    // Root's home is closed to the fleets' own users, who run the runtime.
    expect(loadConfig({}).pipeline.runtimeCacheDir).toBe(
      process.getuid?.() === 0 ? '/var/cache/agent-fleet' : path.join(os.homedir(), '.cache', 'agent-fleet'),
    );
  });

  it('isolates local fleets by OS user when it runs as root, and refuses that isolation otherwise', () => {
    const root = process.getuid?.() === 0;
    expect(loadConfig({}).pipeline.localIsolation).toBe(root ? 'users' : 'shared');
    expect(loadConfig({ FLEET_LOCAL_ISOLATION: 'shared' }).pipeline.localIsolation).toBe('shared');
    if (!root)
      expect(() => loadConfig({ FLEET_LOCAL_ISOLATION: 'users' })).toThrow(
        /FLEET_LOCAL_ISOLATION: users needs the control plane to run as root/,
      );
  });
});

describe('loadConfig: the compute driver', () => {
  it('defaults to the local driver with no GCP settings', () => {
    expect(loadConfig({}).compute).toEqual({ driver: 'local', gcp: undefined });
  });

  it('with FLEET_COMPUTE=gcp, lists the missing project and credentials and every bad value together', () => {
    let problems: string[] = [];
    try {
      loadConfig({ FLEET_COMPUTE: 'gcp', FLEET_SSH_PORT: 'twenty-two', FLEET_GCP_ZONES: 'mars-1', FLEET_GCP_GATEWAY_PORT: '80' });
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    const names = problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining([
        'FLEET_SSH_PORT',
        'FLEET_GCP_ZONES',
        'FLEET_GCP_GATEWAY_PORT',
        'FLEET_GCP_PROJECT',
        'FLEET_GCP_ACCESS_TOKEN',
      ]),
    );
    expect(problems).toHaveLength(5);
    expect(() => loadConfig({ FLEET_COMPUTE: 'aws' })).toThrow(/FLEET_COMPUTE/);
  });

  it('takes the GCP settings, with zones as a list in the order given', () => {
    const c = loadConfig({
      FLEET_GCP_PROJECT: 'acme-fleets',
      FLEET_GCP_ZONES: 'europe-west2-b, europe-west2-c',
      FLEET_GCP_ACCESS_TOKEN: 'ya29.token',
      FLEET_GCP_API_ENDPOINT: 'http://127.0.0.1:8123',
    });
    expect(c.compute).toEqual({
      driver: 'local',
      gcp: {
        project: 'acme-fleets',
        zones: ['europe-west2-b', 'europe-west2-c'],
        machineType: 'e2-standard-2',
        image: 'projects/debian-cloud/global/images/family/debian-12',
        network: 'global/networks/default',
        apiEndpoint: 'http://127.0.0.1:8123',
        accessToken: 'ya29.token',
        sshUser: 'fleet',
        sshPort: 22,
        gatewayPort: 18789,
        networkTags: ['agent-fleet-gateway'],
      },
    });
  });

  it('accepts FLEET_COMPUTE=gcp with a project and credentials', () => {
    const c = loadConfig({ FLEET_COMPUTE: 'gcp', FLEET_GCP_PROJECT: 'acme-fleets', FLEET_GCP_ACCESS_TOKEN: 'ya29.token' });
    expect(c.compute.driver).toBe('gcp');
    expect(c.compute.gcp?.project).toBe('acme-fleets');
  });
});

describe('loadConfig: production', () => {
  const complete = {
    NODE_ENV: 'production',
    CLERK_JWT_KEY: '-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----',
    CLERK_PUBLISHABLE_KEY: 'pk_live_Y2xlcmsuZXhhbXBsZS5jb20k',
    FLEET_PLATFORM_TOKEN: 'fpt_0123456789abcdefghijklmnop',
    FLEET_SECRETS_KEY: 'a'.repeat(64),
  };
  it('requires the authorized parties, so tokens of other apps on the same Clerk instance are refused', () => {
    expect(() => loadConfig(complete)).toThrow(/CLERK_AUTHORIZED_PARTIES: is required when NODE_ENV=production/);
    expect(loadConfig({ ...complete, CLERK_AUTHORIZED_PARTIES: 'https://fleet.example.com' }).clerk?.authorizedParties).toEqual([
      'https://fleet.example.com',
    ]);
  });

  const ready = { ...complete, CLERK_AUTHORIZED_PARTIES: 'https://fleet.example.com' };
  it("calls tenant URLs over https only, and refuses the tests' loopback switch", () => {
    expect(loadConfig(ready).outbound).toEqual({ allowHttp: false, allowLoopback: false });
    expect(() => loadConfig({ ...ready, FLEET_TEST_ALLOW_LOOPBACK_URLS: '1' })).toThrow(
      /FLEET_TEST_ALLOW_LOOPBACK_URLS: loopback tenant URLs are for tests and are refused in production/,
    );
    expect(loadConfig({}).outbound).toEqual({ allowHttp: true, allowLoopback: false });
    expect(loadConfig({ FLEET_TEST_ALLOW_LOOPBACK_URLS: '1' }).outbound).toEqual({ allowHttp: true, allowLoopback: true });
  });

  it('clones over https only; file:// forges are for development and tests', () => {
    expect(loadConfig({ ...ready, FLEET_GIT_BASE_URL: 'https://git.example.com/org' }).pipeline.gitBaseUrl).toBe(
      'https://git.example.com/org/',
    );
    for (const url of ['file:///srv/repos/', 'http://git.example.com/', 'ssh://git@github.com/', 'ext::sh -c id']) {
      expect(() => loadConfig({ ...ready, FLEET_GIT_BASE_URL: url }), url).toThrow(/FLEET_GIT_BASE_URL: /);
    }
    expect(loadConfig({ FLEET_GIT_BASE_URL: 'file:///srv/repos' }).pipeline.gitBaseUrl).toBe('file:///srv/repos/');
    expect(() => loadConfig({ FLEET_GIT_BASE_URL: 'http://git.example.com/' })).toThrow(
      /FLEET_GIT_BASE_URL: must be an https:\/\/ URL \(or file:\/\/ outside production\); got http:/,
    );
  });
});

describe('loadConfig: HTTP limits, metrics and dev sign-in', () => {
  const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };

  it('defaults: 10 streams and 600 requests a minute per user, no metrics token', () => {
    const c = loadConfig({});
    expect(c.http).toMatchObject({ maxStreamsPerUser: 10, rateLimitPerMinute: 600, platformRateLimitPerMinute: 6000 });
    expect(c.metricsToken).toBeUndefined();
  });

  it('refuses limits that are not positive integers, naming each variable', () => {
    const names = problemsOf({
      FLEET_MAX_STREAMS_PER_USER: '0',
      FLEET_RATE_LIMIT_PER_MINUTE: 'lots',
      FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE: '-5',
      FLEET_METRICS_TOKEN: 'short',
    }).map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining([
        'FLEET_MAX_STREAMS_PER_USER',
        'FLEET_RATE_LIMIT_PER_MINUTE',
        'FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE',
        'FLEET_METRICS_TOKEN',
      ]),
    );
    expect(problemsOf({ FLEET_RATE_LIMIT_PER_MINUTE: '2.5' }).join()).toMatch(/FLEET_RATE_LIMIT_PER_MINUTE/);
    expect(loadConfig({ FLEET_MAX_STREAMS_PER_USER: '3', FLEET_METRICS_TOKEN: 'm'.repeat(24) })).toMatchObject({
      http: { maxStreamsPerUser: 3 },
      metricsToken: 'm'.repeat(24),
    });
  });

  it('refuses dev sign-in on an address other than loopback', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'fleet.example.com']) {
      expect(problemsOf({ HOST: host })).toEqual([expect.stringMatching(/^HOST: dev sign-in .* loopback .*CLERK_JWT_KEY/)]);
    }
    for (const host of ['127.0.0.1', '127.8.0.1', '::1', 'localhost']) expect(problemsOf({ HOST: host })).toEqual([]);
    // With Clerk settings there is no dev sign-in to protect.
    const clerk = { CLERK_JWT_KEY: 'k', CLERK_PUBLISHABLE_KEY: 'pk_live_Y2xlcmsuZXhhbXBsZS5jb20k' };
    expect(loadConfig({ ...clerk, HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('refuses CLERK_SECRET_KEY alone instead of silently serving dev sign-in', () => {
    const problems = problemsOf({ CLERK_SECRET_KEY: 'sk_live_abc' });
    expect(problems).toContain('CLERK_JWT_KEY: is required when any Clerk setting is given');
    expect(problems).toContain('CLERK_PUBLISHABLE_KEY: is required when any Clerk setting is given');
  });
});

describe('loadClientConfig (the fleet client commands)', () => {
  it('keeps the login under $XDG_CONFIG_HOME/agent-fleet, else ~/.config/agent-fleet, and reads URL and tokens', () => {
    const c = loadClientConfig({
      XDG_CONFIG_HOME: '/tmp/xdg',
      FLEET_URL: 'https://fleet.example.com',
      FLEET_TOKEN: 't',
      FLEET_PLATFORM_TOKEN: 'p',
    });
    expect(c).toStrictEqual({
      url: 'https://fleet.example.com',
      token: 't',
      platformToken: 'p',
      configFile: '/tmp/xdg/agent-fleet/config.json',
    });
    // The XDG spec ignores a relative XDG_CONFIG_HOME.
    expect(loadClientConfig({ XDG_CONFIG_HOME: 'relative' }).configFile).toBe(
      path.join(os.homedir(), '.config', 'agent-fleet', 'config.json'),
    );
  });

  it('refuses a FLEET_URL that is not http(s), naming it, and ignores server settings it does not use', () => {
    expect(() => loadClientConfig({ FLEET_URL: 'ftp://x' })).toThrow(/FLEET_URL: must be an http:\/\/ or https:\/\/ URL/);
    // A server-side problem (production without Clerk) is not the client's business.
    expect(loadClientConfig({ NODE_ENV: 'production', PORT: 'nope' }).url).toBeUndefined();
  });
});

describe('settings for several processes on one database', () => {
  it('reads the pool size, the host id and the stand-in steps, and refuses bad values by name', () => {
    const config = loadConfig({ FLEET_DB_POOL_SIZE: '8', FLEET_HOST_ID: 'worker-eu-1', FLEET_TEST_STANDIN_STEP_MS: '5' });
    expect(config.dbPoolSize).toBe(8);
    expect(config.pipeline.hostId).toBe('worker-eu-1');
    expect(config.pipeline.standinStepMs).toBe(5);
    expect(loadConfig({}).dbPoolSize).toBe(20);
    expect(loadConfig({}).pipeline.hostId).toBe(os.hostname());
    expect(() => loadConfig({ FLEET_DB_POOL_SIZE: '1' })).toThrow(/FLEET_DB_POOL_SIZE/);
    expect(() => loadConfig({ FLEET_HOST_ID: 'a b/c' })).toThrow(/FLEET_HOST_ID: must be a host name/);
  });

  it('refuses stand-in steps in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', FLEET_TEST_STANDIN_STEP_MS: '0' })).toThrow(
      /FLEET_TEST_STANDIN_STEP_MS: stand-in steps are for tests and are refused in production/,
    );
  });

  it('keeps no warm pool unless asked, and refuses a pool size or reload timeout out of range by name', () => {
    expect(loadConfig({}).pipeline).toMatchObject({ warmPool: 0, warmReloadTimeoutMs: 20_000 });
    expect(loadConfig({ FLEET_WARM_POOL: '3', FLEET_WARM_RELOAD_TIMEOUT_MS: '5000' }).pipeline).toMatchObject({
      warmPool: 3,
      warmReloadTimeoutMs: 5000,
    });
    expect(() => loadConfig({ FLEET_WARM_POOL: '-1' })).toThrow(/FLEET_WARM_POOL/);
    expect(() => loadConfig({ FLEET_WARM_POOL: 'many' })).toThrow(/FLEET_WARM_POOL/);
    expect(() => loadConfig({ FLEET_WARM_RELOAD_TIMEOUT_MS: '10' })).toThrow(/FLEET_WARM_RELOAD_TIMEOUT_MS/);
    expect(loadConfig({ FLEET_TEST_FAULTS: 'warm_claim:kill' }).pipeline.faults).toBe('warm_claim:kill');
  });
});
