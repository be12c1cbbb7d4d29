import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  publicUrl: URL;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  logLevel: LogLevel;
  /** Behind a TLS-terminating proxy: trust X-Forwarded-* (on when PUBLIC_URL is https). */
  trustProxy: boolean;
  /** How long a refresh token chain stays alive without being used, in seconds. */
  refreshTokenTtl: number;
  /** Optional key material given by the operator instead of generated into the store. */
  jwks: { keys: Record<string, unknown>[] } | undefined;
  cookieKeys: string[] | undefined;
}

/** A bad environment variable: the process prints `message` as one line and exits. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const DAY = 86_400;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): URL | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${parsed.protocol}//"`);
  }
  return parsed;
}

function json<T>(env: NodeJS.ProcessEnv, name: string, check: (value: unknown) => value is T, shape: string): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, `is not valid JSON (expected ${shape})`);
  }
  if (!check(value)) throw new ConfigError(name, `must be ${shape}`);
  return value;
}

function isJwks(value: unknown): value is { keys: Record<string, unknown>[] } {
  const keys = (value as { keys?: unknown })?.keys;
  return Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'object' && k !== null && 'kty' in k && 'd' in k);
}

function isCookieKeys(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((k) => typeof k === 'string' && k.length >= 32);
}

/** Reads and validates the configuration once; everything else receives the result. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65_535);
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? new URL(`http://localhost:${port}`);
  if (publicUrl.search || publicUrl.hash) throw new ConfigError('PUBLIC_URL', 'must not have a query or fragment');
  if (publicUrl.pathname !== '/' && publicUrl.pathname !== '') {
    throw new ConfigError('PUBLIC_URL', `must be the site root (no path), got "${publicUrl.pathname}"`);
  }
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);

  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }

  const trustProxyRaw = env.TRUST_PROXY;
  if (trustProxyRaw !== undefined && trustProxyRaw !== '' && !['true', 'false'].includes(trustProxyRaw)) {
    throw new ConfigError('TRUST_PROXY', `must be "true" or "false", got "${trustProxyRaw}"`);
  }
  const trustProxy = trustProxyRaw ? trustProxyRaw === 'true' : publicUrl.protocol === 'https:';

  const dataDir = path.resolve(env.DATA_DIR || './data');

  return {
    port,
    publicUrl: new URL(publicUrl.origin),
    dataDir,
    databaseUrl: databaseUrl?.toString(),
    redisUrl: redisUrl?.toString(),
    logLevel,
    trustProxy,
    refreshTokenTtl: integer(env, 'REFRESH_TOKEN_TTL_DAYS', 90, 1, 3650) * DAY,
    jwks: json(env, 'JWKS', isJwks, 'a JSON Web Key Set with private keys: {"keys":[{"kty":…,"d":…}]}'),
    cookieKeys: json(env, 'COOKIE_KEYS', isCookieKeys, 'a JSON array of secrets of at least 32 characters'),
  };
}
