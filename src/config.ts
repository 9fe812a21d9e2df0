import path from 'node:path';
import { z } from 'zod';

/**
 * The whole environment, validated by one schema and parsed once at start. A bad value stops the
 * process with every problem listed (see `loadConfig`), never a silent default for a required value.
 */
const csv = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean));

const optionalNonEmpty = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === '' ? undefined : s));

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    FLEET_DATA_DIR: z.string().min(1).default('.fleet'),
    DATABASE_URL: optionalNonEmpty.pipe(z.url({ message: 'must be a postgres:// URL' }).optional()),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    CLERK_JWT_KEY: optionalNonEmpty,
    CLERK_PUBLISHABLE_KEY: optionalNonEmpty.pipe(
      z.string().regex(/^pk_(live|test)_/, 'must start with pk_live_ or pk_test_').optional(),
    ),
    CLERK_SECRET_KEY: optionalNonEmpty,
    CLERK_AUTHORIZED_PARTIES: optionalNonEmpty.pipe(csv.optional()),
    FLEET_PLATFORM_TOKEN: optionalNonEmpty.pipe(
      z.string().min(24, 'must be at least 24 characters').optional(),
    ),
    FLEET_SECRETS_KEY: optionalNonEmpty.pipe(
      z.string().regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters (32 bytes)').optional(),
    ),
    FLEET_PUBLIC_URL: optionalNonEmpty.pipe(z.url().optional()),
  });

/**
 * Rules across variables. Checked on the raw environment, apart from the schema, so they are
 * reported together with every per-variable problem instead of only once those are fixed.
 */
function crossCheck(source: NodeJS.ProcessEnv): string[] {
  const set = (name: string) => (source[name] ?? '').trim() !== '';
  const production = source.NODE_ENV === 'production';
  const problems: string[] = [];
  const clerkSet = set('CLERK_JWT_KEY') || set('CLERK_PUBLISHABLE_KEY');
  // Production never falls back to the dev issuer: a missing Clerk key there is an outage, not a
  // convenience.
  if (production || clerkSet) {
    for (const name of ['CLERK_JWT_KEY', 'CLERK_PUBLISHABLE_KEY']) {
      if (!set(name)) {
        problems.push(
          `${name}: ${production ? 'is required when NODE_ENV=production (dev sign-in is disabled in production)' : 'is required when any Clerk setting is given'}`,
        );
      }
    }
  }
  if (production) {
    for (const name of ['FLEET_PLATFORM_TOKEN', 'FLEET_SECRETS_KEY']) {
      if (!set(name)) problems.push(`${name}: is required when NODE_ENV=production`);
    }
  }
  return problems;
}

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  /** Present when real Clerk settings are given; absent means dev sign-in. */
  clerk:
    | { jwtKey: string; publishableKey: string; secretKey: string | undefined; authorizedParties: string[] | undefined }
    | undefined;
  platformToken: string | undefined;
  secretsKey: string | undefined;
  publicUrl: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`)),
    ...crossCheck(source),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const env = parsed.data;
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    dataDir: path.resolve(env.FLEET_DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    logLevel: env.LOG_LEVEL,
    clerk:
      env.CLERK_JWT_KEY && env.CLERK_PUBLISHABLE_KEY
        ? {
            jwtKey: env.CLERK_JWT_KEY.replace(/\\n/g, '\n'),
            publishableKey: env.CLERK_PUBLISHABLE_KEY,
            secretKey: env.CLERK_SECRET_KEY,
            authorizedParties: env.CLERK_AUTHORIZED_PARTIES,
          }
        : undefined,
    platformToken: env.FLEET_PLATFORM_TOKEN,
    secretsKey: env.FLEET_SECRETS_KEY,
    publicUrl: env.FLEET_PUBLIC_URL,
  };
}
