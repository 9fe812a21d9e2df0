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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } }, destination);
}
