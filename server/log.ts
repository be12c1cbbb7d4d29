import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

/**
 * Secrets by name: a key that names one is blanked wherever a log line puts
 * it, at the top or one level down (`{ password }`, `{ form: { password } }`).
 * `code` is not among them: `err.code` is PostgreSQL's SQLSTATE or a socket's
 * ECONNREFUSED, which an operator needs; the OAuth authorization code is
 * blanked only where it travels as a parameter (query, form, params).
 */
const SECRET_NAMES = [
  'password',
  'passwordHash',
  'password_hash',
  'secret',
  'client_secret',
  'clientSecret',
  'token',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'id_token',
  'code_verifier',
  'client_assertion',
  'authorization',
  'cookie',
  'cookies',
  'cookieKeys',
];
const PARAMETER_HOLDERS = ['params', 'query', 'body', 'form'];

/** Paths whose values never reach a log line, whatever logs them. */
export const REDACTED_PATHS = [
  ...SECRET_NAMES.flatMap((name) => [name, `*.${name}`]),
  ...PARAMETER_HOLDERS.flatMap((holder) => [`${holder}.code`, `*.${holder}.code`]),
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  // ioredis attaches the failed command to its errors; its arguments are keys named after tokens, or AUTH's password.
  'err.command.args',
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'securelogin-connect' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
