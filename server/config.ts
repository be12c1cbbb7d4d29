import path from 'node:path';
import { DEFAULT_TRUSTED_PROXIES, InvalidTrustedProxy, parseTrustedProxies, type TrustedProxies } from './web/proxies.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  publicUrl: URL;
  dataDir: string;
  databaseUrl: string | undefined;
  /**
   * The longest one directory query may take, in ms: PostgreSQL's
   * statement_timeout and lock_timeout, and the client's own deadline for a
   * server that does not answer at all; with SQLite, how long a write waits
   * for another process's write lock. Past it the request answers 503.
   */
  databaseStatementTimeoutMs: number;
  /** PostgreSQL: the longest a query waits for a pooled connection, opening one included, in ms. */
  databaseConnectTimeoutMs: number;
  redisUrl: string | undefined;
  /** Where sessions, tokens and throttling counters live when not in the embedded store. */
  redis: RedisConfig | undefined;
  logLevel: LogLevel;
  /** Behind a TLS-terminating proxy: honour X-Forwarded-* from `trustedProxies` (on when PUBLIC_URL is https). */
  trustProxy: boolean;
  /** The proxies whose X-Forwarded-* are believed; a client that reaches the port directly cannot forge its address. */
  trustedProxies: TrustedProxies;
  /** How long a refresh token chain stays alive without being used, in seconds. */
  refreshTokenTtl: number;
  /**
   * How long the refresh token just rotated out is still accepted, in seconds:
   * a client that lost the response to its refresh retries with it and must
   * not lose its grant. 0 turns the allowance off.
   */
  refreshTokenGrace: number;
  /** Lifetime of an access token, in seconds. */
  accessTokenTtl: number;
  /** Lifetime of an authorization code, in seconds. */
  authorizationCodeTtl: number;
  /** Optional key material given by the operator instead of generated into the store. */
  jwks: { keys: Record<string, unknown>[] } | undefined;
  cookieKeys: string[] | undefined;
  /** When set, GET /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken: string | undefined;
  /** The Entra app registration for single sign-on; undefined: SSO is off everywhere. */
  entra: EntraConfig | undefined;
  /** How long the SCIM activity record keeps an entry, in days; older entries are pruned. */
  activityRetentionDays: number;
}

export interface EntraConfig {
  clientId: string;
  clientSecret: string;
  /** https://login.microsoftonline.com, or a loopback http:// stand-in in tests; no trailing slash. */
  authority: string;
}

export interface RedisAddress {
  host: string;
  port: number;
}

/** Credentials and TLS shared by every shape of Redis deployment. */
interface RedisAccess {
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

/**
 * One of the three ways operators run Redis: REDIS_URL (one server),
 * REDIS_SENTINELS + REDIS_SENTINEL_NAME (a Sentinel-managed master), or
 * REDIS_CLUSTER_NODES (a Redis Cluster). Exactly one may be set.
 */
export type RedisConfig =
  | ({ mode: 'single'; url: string } & RedisAccess)
  | ({ mode: 'sentinel'; sentinels: RedisAddress[]; name: string; sentinelPassword: string | undefined; db: number } & RedisAccess)
  | ({ mode: 'cluster'; nodes: RedisAddress[] } & RedisAccess);

/** A bad environment variable: the process prints `message` as one line and exits. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Relative to the working directory, which npm start and the CLI make the project root. */
export const DEFAULT_DATA_DIR = './data';

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

/**
 * `secret`: the value may hold a password (DATABASE_URL, REDIS_URL), so an
 * error names what is wrong without repeating it.
 */
function url(env: NodeJS.ProcessEnv, name: string, protocols: string[], secret = false): URL | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const schemes = protocols.map((p) => `${p}//`).join(' or ');
  // `localhost:3000` parses as a URL whose scheme is "localhost:"; it was meant as a host.
  if (!/^[a-z][a-z\d+.-]*:\/\//i.test(raw.trim())) {
    throw new ConfigError(name, `must start with ${schemes}${secret ? '' : `, got "${raw}"`} (no scheme given)`);
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL${secret ? '' : `: "${raw}"`}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${schemes}, got "${parsed.protocol}//"`);
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

/** "host:port,host:port" (IPv6 as [::1]:6379); the port may be left out. */
function redisAddresses(env: NodeJS.ProcessEnv, name: string, defaultPort: number): RedisAddress[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((entry) => {
    const item = entry.trim();
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/@]+))(?::(\d+))?$/.exec(item);
    if (!match) throw new ConfigError(name, `must be a comma-separated list of host:port, got "${item}"`);
    const port = match[3] === undefined ? defaultPort : Number(match[3]);
    if (port < 1 || port > 65_535) throw new ConfigError(name, `port must be between 1 and 65535, got "${item}"`);
    return { host: match[1] ?? match[2], port };
  });
}

function redisConfig(env: NodeJS.ProcessEnv, redisUrl: URL | undefined): RedisConfig | undefined {
  const sentinels = redisAddresses(env, 'REDIS_SENTINELS', 26_379);
  const nodes = redisAddresses(env, 'REDIS_CLUSTER_NODES', 6_379);
  const chosen = [redisUrl && 'REDIS_URL', sentinels && 'REDIS_SENTINELS', nodes && 'REDIS_CLUSTER_NODES'].filter(Boolean);
  if (chosen.length > 1)
    throw new ConfigError(
      chosen[1] as string,
      `set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got ${chosen.join(' and ')})`,
    );

  const name = env.REDIS_SENTINEL_NAME?.trim() || undefined;
  const sentinelPassword = env.REDIS_SENTINEL_PASSWORD || undefined;
  if (!sentinels) {
    if (name) throw new ConfigError('REDIS_SENTINEL_NAME', 'needs REDIS_SENTINELS (the sentinels that know this master)');
    if (sentinelPassword) throw new ConfigError('REDIS_SENTINEL_PASSWORD', 'needs REDIS_SENTINELS');
    if (env.REDIS_DB)
      throw new ConfigError('REDIS_DB', 'applies to Sentinel only; with REDIS_URL put the database in the path (redis://host:6379/2)');
  }
  const username = env.REDIS_USERNAME || undefined;
  const password = env.REDIS_PASSWORD || undefined;
  const tlsRaw = env.REDIS_TLS;
  if (tlsRaw !== undefined && tlsRaw !== '' && !['true', 'false'].includes(tlsRaw)) {
    throw new ConfigError('REDIS_TLS', `must be "true" or "false", got "${tlsRaw}"`);
  }
  const tls = tlsRaw === 'true';

  if (redisUrl) {
    if (tls) throw new ConfigError('REDIS_TLS', 'with REDIS_URL, use a rediss:// URL for TLS');
    if (password && redisUrl.password) throw new ConfigError('REDIS_PASSWORD', 'REDIS_URL already has a password; give it in one place');
    if (username && redisUrl.username) throw new ConfigError('REDIS_USERNAME', 'REDIS_URL already has a username; give it in one place');
    const db = redisUrl.pathname.replace(/^\//, '');
    if (db !== '' && !/^\d+$/.test(db)) throw new ConfigError('REDIS_URL', `the path must be a database number, got "/${db}"`);
    return { mode: 'single', url: redisUrl.toString(), username, password, tls: redisUrl.protocol === 'rediss:' };
  }
  if (sentinels) {
    if (!name)
      throw new ConfigError('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS: the master group name the sentinels monitor');
    return { mode: 'sentinel', sentinels, name, sentinelPassword, db: integer(env, 'REDIS_DB', 0, 0, 65_535), username, password, tls };
  }
  if (nodes) return { mode: 'cluster', nodes, username, password, tls };
  if (username || password || tlsRaw) {
    const variable = username ? 'REDIS_USERNAME' : password ? 'REDIS_PASSWORD' : 'REDIS_TLS';
    throw new ConfigError(variable, 'needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES');
  }
  return undefined;
}

function trustedProxies(env: NodeJS.ProcessEnv): TrustedProxies {
  // PROXY_HOPS counted entries from the right, which a client reaching the port directly could still forge.
  if (env.PROXY_HOPS !== undefined && env.PROXY_HOPS !== '') {
    throw new ConfigError('PROXY_HOPS', "is no longer read: list your proxies' addresses or CIDR ranges in TRUSTED_PROXIES instead");
  }
  const raw = env.TRUSTED_PROXIES;
  try {
    return parseTrustedProxies(raw === undefined || raw.trim() === '' ? DEFAULT_TRUSTED_PROXIES : raw);
  } catch (error) {
    if (error instanceof InvalidTrustedProxy) throw new ConfigError('TRUSTED_PROXIES', error.message);
    throw error;
  }
}

function metricsToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.METRICS_TOKEN;
  if (token === undefined || token === '') return undefined;
  if (token.length < 16 || !/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 printable characters without spaces');
  }
  return token;
}

/**
 * DATABASE_PASSWORD, when set, goes into DATABASE_URL here, percent-encoded:
 * a password with @ / : # % (a generated one often has them) would otherwise
 * have to be encoded by hand, and unencoded it breaks the URL apart.
 */
function databaseUrlWithPassword(env: NodeJS.ProcessEnv, databaseUrl: URL | undefined): URL | undefined {
  const password = env.DATABASE_PASSWORD;
  if (password === undefined || password === '') return databaseUrl;
  if (!databaseUrl) throw new ConfigError('DATABASE_PASSWORD', 'needs DATABASE_URL (postgres://user@host:5432/db, without the password)');
  if (databaseUrl.password) throw new ConfigError('DATABASE_PASSWORD', 'DATABASE_URL already has a password; give it in one place');
  if (!databaseUrl.username)
    throw new ConfigError('DATABASE_URL', 'needs a user name with DATABASE_PASSWORD: postgres://user@host:5432/db');
  const withPassword = new URL(databaseUrl);
  // encodeURIComponent, not the URL setter alone, which leaves % as it is for pg to misread as an escape.
  withPassword.password = encodeURIComponent(password);
  return withPassword;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function entraConfig(env: NodeJS.ProcessEnv): EntraConfig | undefined {
  const clientId = env.ENTRA_CLIENT_ID?.trim() || undefined;
  const clientSecret = env.ENTRA_CLIENT_SECRET || undefined;
  const authorityUrl = url(env, 'ENTRA_AUTHORITY', ['https:', 'http:']) ?? new URL('https://login.microsoftonline.com');
  if (authorityUrl.protocol === 'http:' && !LOOPBACK.test(authorityUrl.hostname)) {
    throw new ConfigError(
      'ENTRA_AUTHORITY',
      `must be https:// (http:// only on a loopback address, for tests), got "${env.ENTRA_AUTHORITY}"`,
    );
  }
  if (authorityUrl.search || authorityUrl.hash || authorityUrl.username || authorityUrl.password) {
    throw new ConfigError('ENTRA_AUTHORITY', 'must be an origin with an optional path, without query, fragment or credentials');
  }
  if (!clientId && !clientSecret) return undefined;
  if (!clientId)
    throw new ConfigError('ENTRA_CLIENT_ID', "is required with ENTRA_CLIENT_SECRET (the app registration's Application (client) ID)");
  if (!clientSecret)
    throw new ConfigError('ENTRA_CLIENT_SECRET', 'is required with ENTRA_CLIENT_ID (a client secret of the app registration)');
  return { clientId, clientSecret, authority: authorityUrl.toString().replace(/\/+$/, '') };
}

/** Reads and validates the configuration once; everything else receives the result. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65_535);
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? new URL(`http://localhost:${port}`);
  if (publicUrl.search || publicUrl.hash) throw new ConfigError('PUBLIC_URL', 'must not have a query or fragment');
  if (publicUrl.pathname !== '/' && publicUrl.pathname !== '') {
    throw new ConfigError('PUBLIC_URL', `must be the site root (no path), got "${publicUrl.pathname}"`);
  }
  const databaseUrl = databaseUrlWithPassword(env, url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], true));
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:'], true);

  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }

  const trustProxyRaw = env.TRUST_PROXY;
  if (trustProxyRaw !== undefined && trustProxyRaw !== '' && !['true', 'false'].includes(trustProxyRaw)) {
    throw new ConfigError('TRUST_PROXY', `must be "true" or "false", got "${trustProxyRaw}"`);
  }
  const trustProxy = trustProxyRaw ? trustProxyRaw === 'true' : publicUrl.protocol === 'https:';

  const dataDir = path.resolve(env.DATA_DIR || DEFAULT_DATA_DIR);

  return {
    port,
    publicUrl: new URL(publicUrl.origin),
    dataDir,
    databaseUrl: databaseUrl?.toString(),
    databaseStatementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5_000, 100, 600_000),
    databaseConnectTimeoutMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    redisUrl: redisUrl?.toString(),
    redis: redisConfig(env, redisUrl),
    logLevel,
    trustProxy,
    trustedProxies: trustedProxies(env),
    refreshTokenTtl: integer(env, 'REFRESH_TOKEN_TTL_DAYS', 90, 1, 3650) * DAY,
    refreshTokenGrace: integer(env, 'REFRESH_TOKEN_GRACE_SECONDS', 60, 0, 600),
    accessTokenTtl: integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 3600, 1, DAY),
    authorizationCodeTtl: integer(env, 'AUTHORIZATION_CODE_TTL_SECONDS', 60, 1, 600),
    activityRetentionDays: integer(env, 'ACTIVITY_RETENTION_DAYS', 90, 1, 3650),
    jwks: json(env, 'JWKS', isJwks, 'a JSON Web Key Set with private keys: {"keys":[{"kty":…,"d":…}]}'),
    cookieKeys: json(env, 'COOKIE_KEYS', isCookieKeys, 'a JSON array of secrets of at least 32 characters'),
    metricsToken: metricsToken(env),
    entra: entraConfig(env),
  };
}

/** A connection URL as it may be shown and logged: without its password. */
export function withoutPassword(connectionUrl: string): string {
  const url = new URL(connectionUrl);
  url.password = '';
  return url.toString();
}
