import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.ts';
import { type Outcome, runNode } from './support/cli.ts';
import { freePort, tempDataDir } from './support/service.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('configuration from the environment', () => {
  it('has defaults that run the embedded store on port 3000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      dataDir: path.resolve('data'),
      databaseUrl: undefined,
      redisUrl: undefined,
      redis: undefined,
      logLevel: 'info',
      trustProxy: false,
      databaseStatementTimeoutMs: 5_000,
      databaseConnectTimeoutMs: 5_000,
      jwks: undefined,
      cookieKeys: undefined,
      activityRetentionDays: 90,
    });
    expect(config.publicUrl.href).toBe('http://localhost:3000/');
    expect(loadConfig({ ACTIVITY_RETENTION_DAYS: '30' }).activityRetentionDays).toBe(30);
  });

  it('derives PUBLIC_URL from PORT, and trusts the proxy when PUBLIC_URL is https', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl.href).toBe('http://localhost:8080/');
    const behindProxy = loadConfig({ PUBLIC_URL: 'https://Connect.Example.com/', LOG_LEVEL: 'WARN' });
    expect(behindProxy.publicUrl.origin).toBe('https://connect.example.com');
    expect(behindProxy.trustProxy).toBe(true);
    expect(behindProxy.logLevel).toBe('warn');
    expect(loadConfig({ PUBLIC_URL: 'https://connect.example.com', TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });

  it('reads the scale-out stores', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://slc@db:5432/slc', REDIS_URL: 'redis://cache:6379/2', DATA_DIR: '/var/lib/slc' });
    expect(config.databaseUrl).toBe('postgres://slc@db:5432/slc');
    expect(config.redis).toMatchObject({ mode: 'single', url: 'redis://cache:6379/2', tls: false });
    expect(config.dataDir).toBe('/var/lib/slc');
  });

  const SENTINELS = { REDIS_SENTINELS: 's1:26379,s2', REDIS_SENTINEL_NAME: 'main' };

  it.each<[string, Record<string, string>, string]>([
    ['PORT', { PORT: 'abc' }, 'must be a whole number, got "abc"'],
    ['PORT', { PORT: '70000' }, 'must be between 0 and 65535'],
    ['PORT', { PORT: '-1' }, 'must be a whole number'],
    ['PORT', { PORT: '80.5' }, 'must be a whole number'],
    [
      'PUBLIC_URL',
      { PUBLIC_URL: 'connect.example.com' },
      'must start with http:// or https://, got "connect.example.com" (no scheme given)',
    ],
    // Parsed as a URL, this is the scheme "localhost:"; it was echoed back as "localhost://".
    ['PUBLIC_URL', { PUBLIC_URL: 'localhost:3000' }, 'must start with http:// or https://, got "localhost:3000" (no scheme given)'],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://exa mple.com' }, 'is not a valid URL: "https://exa mple.com"'],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://connect.example.com' }, 'must start with http:// or https://'],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://connect.example.com/slc' }, 'must be the site root (no path)'],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://connect.example.com/?tenant=1' }, 'must not have a query or fragment'],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/slc' }, 'must start with postgres:// or postgresql://'],
    ['DATABASE_URL', { DATABASE_URL: 'db:5432' }, 'must start with postgres://'],
    ['DATABASE_PASSWORD', { DATABASE_PASSWORD: 'Db-secret-1' }, 'needs DATABASE_URL'],
    [
      'DATABASE_PASSWORD',
      { DATABASE_URL: 'postgres://slc:Url-secret-1@db/slc', DATABASE_PASSWORD: 'Db-secret-1' },
      'already has a password',
    ],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://db/slc', DATABASE_PASSWORD: 'Db-secret-1' }, 'needs a user name with DATABASE_PASSWORD'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', { DATABASE_STATEMENT_TIMEOUT_MS: '5s' }, 'must be a whole number'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', { DATABASE_STATEMENT_TIMEOUT_MS: '0' }, 'must be between 100 and 600000'],
    ['DATABASE_CONNECT_TIMEOUT_MS', { DATABASE_CONNECT_TIMEOUT_MS: '600001' }, 'must be between 100 and 600000'],
    ['REDIS_URL', { REDIS_URL: 'http://cache:6379' }, 'must start with redis:// or rediss://'],
    ['REDIS_URL', { REDIS_URL: 'redis://cache:6379/sessions' }, 'the path must be a database number'],
    ['REDIS_SENTINELS', { ...SENTINELS, REDIS_SENTINELS: 's1:99999' }, 'port must be between 1 and 65535'],
    ['REDIS_SENTINELS', { ...SENTINELS, REDIS_SENTINELS: 'not a host' }, 'comma-separated list of host:port'],
    ['REDIS_SENTINELS', { ...SENTINELS, REDIS_URL: 'redis://cache' }, 'set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES'],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINELS: 's1' }, 'is required with REDIS_SENTINELS'],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINEL_NAME: 'main' }, 'needs REDIS_SENTINELS'],
    ['REDIS_SENTINEL_PASSWORD', { REDIS_SENTINEL_PASSWORD: 'Sentinel-secret-1' }, 'needs REDIS_SENTINELS'],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'node-1:7000,node 2' }, 'comma-separated list of host:port'],
    ['REDIS_DB', { REDIS_URL: 'redis://cache', REDIS_DB: '2' }, 'applies to Sentinel only'],
    ['REDIS_DB', { ...SENTINELS, REDIS_DB: 'two' }, 'must be a whole number'],
    ['REDIS_USERNAME', { REDIS_USERNAME: 'slc' }, 'needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES'],
    ['REDIS_USERNAME', { REDIS_URL: 'redis://a@cache', REDIS_USERNAME: 'b' }, 'already has a username'],
    ['REDIS_PASSWORD', { REDIS_PASSWORD: 'Redis-secret-1' }, 'needs REDIS_URL'],
    ['REDIS_PASSWORD', { REDIS_URL: 'redis://:Url-secret-1@cache', REDIS_PASSWORD: 'Redis-secret-1' }, 'already has a password'],
    ['REDIS_TLS', { REDIS_CLUSTER_NODES: 'node-1', REDIS_TLS: 'yes' }, 'must be "true" or "false"'],
    ['REDIS_TLS', { REDIS_URL: 'redis://cache', REDIS_TLS: 'true' }, 'use a rediss:// URL'],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, 'must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }, 'must be "true" or "false", got "yes"'],
    ['REFRESH_TOKEN_TTL_DAYS', { REFRESH_TOKEN_TTL_DAYS: '0' }, 'must be between 1 and 3650'],
    ['REFRESH_TOKEN_TTL_DAYS', { REFRESH_TOKEN_TTL_DAYS: 'ninety' }, 'must be a whole number'],
    ['ACTIVITY_RETENTION_DAYS', { ACTIVITY_RETENTION_DAYS: '0' }, 'must be between 1 and 3650'],
    ['ACTIVITY_RETENTION_DAYS', { ACTIVITY_RETENTION_DAYS: '90d' }, 'must be a whole number'],
    ['REFRESH_TOKEN_GRACE_SECONDS', { REFRESH_TOKEN_GRACE_SECONDS: '601' }, 'must be between 0 and 600'],
    ['ACCESS_TOKEN_TTL_SECONDS', { ACCESS_TOKEN_TTL_SECONDS: '0' }, 'must be between 1 and 86400'],
    ['AUTHORIZATION_CODE_TTL_SECONDS', { AUTHORIZATION_CODE_TTL_SECONDS: '3600' }, 'must be between 1 and 600'],
    ['JWKS', { JWKS: '{"keys":' }, 'is not valid JSON'],
    ['JWKS', { JWKS: '{"keys":[{"kty":"RSA","n":"public-only"}]}' }, 'must be a JSON Web Key Set with private keys'],
    ['COOKIE_KEYS', { COOKIE_KEYS: 'Cookie-secret-1' }, 'is not valid JSON'],
    ['COOKIE_KEYS', { COOKIE_KEYS: '["Cookie-secret-1"]' }, 'secrets of at least 32 characters'],
    ['PROXY_HOPS', { PROXY_HOPS: '2' }, "is no longer read: list your proxies' addresses or CIDR ranges in TRUSTED_PROXIES instead"],
    ['TRUSTED_PROXIES', { TRUSTED_PROXIES: '10.0.0.1, proxy.internal' }, '"proxy.internal" is not an IP address or CIDR range'],
    ['TRUSTED_PROXIES', { TRUSTED_PROXIES: '10.0.0.0/33' }, '"10.0.0.0/33" is not an IP address or CIDR range'],
    ['TRUSTED_PROXIES', { TRUSTED_PROXIES: 'fc00::/129' }, '"fc00::/129" is not an IP address or CIDR range'],
    ['TRUSTED_PROXIES', { TRUSTED_PROXIES: '10.0.0.256' }, '"10.0.0.256" is not an IP address'],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'short' }, 'at least 16 printable characters'],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'has spaces in the middle of it' }, 'without spaces'],
  ])('refuses a bad %s in one line naming it', (variable, env, problem) => {
    const error = refusal(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `), error.message).toBe(true);
    expect(error.message).toContain(problem);
    expect(error.message).not.toContain('\n');
    // Secrets are never repeated back, not even when they are the problem.
    for (const secret of ['Sentinel-secret-1', 'Redis-secret-1', 'Url-secret-1', 'Cookie-secret-1', 'public-only']) {
      expect(error.message).not.toContain(secret);
    }
  });

  it("is documented: the README's configuration table names every variable the server reads", () => {
    const source = fs.readFileSync(path.join(ROOT, 'server/config.ts'), 'utf8');
    const variables = new Set([...source.matchAll(/\benv(?:\.|, ')([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]));
    expect(variables.size).toBeGreaterThan(10);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    expect([...variables].filter((v) => !documented.has(v))).toEqual([]);
  });
});

function startServer(env: Record<string, string>): Promise<Outcome> {
  return runNode(['server/main.ts'], { PATH: process.env.PATH, DATA_DIR: tempDataDir(), PORT: '0', ...env }, { timeoutMs: 90_000 });
}

describe('URLs that may hold a password', () => {
  it('are refused without being repeated', () => {
    const attempts: Record<string, string>[] = [
      { DATABASE_URL: 'slc:Sup3r-secret@db:5432/slc' },
      { DATABASE_URL: 'postgres://slc:Sup3r-secret@db:99999/slc' },
      { REDIS_URL: ':Sup3r-secret@cache:6379' },
    ];
    for (const env of attempts) {
      expect(refusal(env).message).not.toContain('Sup3r');
    }
  });

  it('take the PostgreSQL password apart from DATABASE_URL, whatever characters it has', async () => {
    const pg = (await import('pg')).default;
    const password = 'p@ss/w:rd#%41?&=+ x';
    const config = loadConfig({ DATABASE_URL: 'postgres://slc@db.internal:5432/slc', DATABASE_PASSWORD: password });
    // pg reads the URL as it will when connecting.
    const parameters = (new pg.Client({ connectionString: config.databaseUrl }) as unknown as { connectionParameters: any })
      .connectionParameters;
    expect(parameters).toMatchObject({ user: 'slc', password, host: 'db.internal', port: 5432, database: 'slc' });
  });
});

describe('the server process with a bad configuration', () => {
  it('exits non-zero before listening, with one line naming the variable', async () => {
    const [port, jwks] = await Promise.all([startServer({ PORT: 'abc' }), startServer({ JWKS: '{"keys":[{"kty":"RSA"}]}' })]);
    expect(port.code).not.toBe(0);
    expect(port.stdout).toBe('');
    expect(port.stderr).toBe('securelogin: configuration error: PORT: must be a whole number, got "abc"\n');
    expect(jwks.code).not.toBe(0);
    expect(jwks.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(jwks.stderr).toMatch(/^securelogin: configuration error: JWKS: /);
  });

  it('refuses PROXY_HOPS, which is gone, and a TRUSTED_PROXIES entry that is not an address, in one line each', async () => {
    const [hops, proxies] = await Promise.all([
      startServer({ PUBLIC_URL: 'https://connect.example.com', PROXY_HOPS: '2' }),
      startServer({ TRUSTED_PROXIES: '10.0.0.0/8,nginx' }),
    ]);
    expect(hops.code).not.toBe(0);
    expect(hops.stdout).toBe('');
    expect(hops.stderr).toBe(
      "securelogin: configuration error: PROXY_HOPS: is no longer read: list your proxies' addresses or CIDR ranges in TRUSTED_PROXIES instead\n",
    );
    expect(proxies.code).not.toBe(0);
    expect(proxies.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(proxies.stderr).toMatch(/^securelogin: configuration error: TRUSTED_PROXIES: "nginx" is not an IP address or CIDR range/);
  });

  it('refuses PUBLIC_URL without a scheme in one line naming it', async () => {
    const outcome = await startServer({ PUBLIC_URL: 'localhost:3000' });
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toBe(
      'securelogin: configuration error: PUBLIC_URL: must start with http:// or https://, got "localhost:3000" (no scheme given)\n',
    );
  });

  it('exits non-zero with one line naming the data folder it cannot use', async () => {
    const file = path.join(tempDataDir(), 'not-a-folder');
    fs.writeFileSync(file, '');
    const outcome = await startServer({ DATA_DIR: file });
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toContain('could not open the directory store');
    expect(outcome.stderr).toContain(file);
  });
});

/** Exactly one line on stderr, nothing on stdout, no stack: what a person starting the server sees. */
function expectOneLine(outcome: Outcome, line: string | RegExp) {
  expect(outcome.code, outcome.stderr).not.toBe(0);
  expect(outcome.code).not.toBeNull();
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr.endsWith('\n')).toBe(true);
  expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
  if (typeof line === 'string') expect(outcome.stderr).toBe(`${line}\n`);
  else expect(outcome.stderr).toMatch(line);
}

describe('the server process when it cannot start', () => {
  it('says in one line that its port is in use', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      expectOneLine(await startServer({ PORT: String(port) }), `securelogin: port ${port} is in use: stop what uses it or set PORT`);
    } finally {
      taken.close();
    }
  });

  it('says in one line that PostgreSQL is unreachable, where, without the password', async () => {
    const port = await freePort();
    const outcome = await startServer({ DATABASE_URL: `postgres://slc:Sup3r-secret@127.0.0.1:${port}/slc` });
    expectOneLine(
      outcome,
      `securelogin: PostgreSQL is unreachable at postgres://slc@127.0.0.1:${port}/slc: connect ECONNREFUSED 127.0.0.1:${port} (check DATABASE_URL)`,
    );
    expect(outcome.stderr).not.toContain('Sup3r');
  });

  it('says in one line that Redis is unreachable, where, without the password', async () => {
    const port = await freePort();
    const outcome = await startServer({ REDIS_URL: `redis://:Sup3r-secret@127.0.0.1:${port}` });
    expectOneLine(
      outcome,
      `securelogin: Redis is unreachable at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (check the REDIS_* settings)`,
    );
    expect(outcome.stderr).not.toContain('Sup3r');
  });
});
