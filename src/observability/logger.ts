import pino from 'pino';

/**
 * JSON logs. Anything that can hold a credential is redacted by path, so a careless
 * `log.info({ headers })` or `log.info({ discord })` still never writes a token.
 */
export const REDACT_PATHS = [
  'authorization',
  'cookie',
  'token',
  'password',
  'secret',
  'headers.authorization',
  'headers.cookie',
  'headers["x-platform-token"]',
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.botToken',
  '*.password',
  '*.secret',
  '*.platformToken',
  '*.*.token',
  '*.*.botToken',
  'discord.bots[*].token',
  'missionControl.token',
  'gitToken',
];

export type Logger = pino.Logger;

/**
 * Errors are logged as what they say, never as the objects they carry: pg attaches its whole
 * `client` (with the server's cancel secret) to connection errors, and pino's standard serializer
 * copies every enumerable property. Kept: type, message, stack, and plain (string, number,
 * boolean) properties such as `code`; a `cause` the same way, once.
 */
export function serializeError(err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { type: err.constructor?.name ?? 'Error', message: err.message, stack: err.stack };
  for (const [key, value] of Object.entries(err)) {
    if (['string', 'number', 'boolean'].includes(typeof value)) out[key] = value;
  }
  if (err.cause !== undefined && depth === 0) out.cause = serializeError(err.cause, 1);
  return out;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      serializers: { err: serializeError, error: serializeError },
    },
    destination,
  );
}
