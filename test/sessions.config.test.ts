// The operator-facing Redis variables: one of REDIS_URL, REDIS_SENTINELS or
// REDIS_CLUSTER_NODES picks the shape; mistakes stop the start with one line
// that names the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.ts';

const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: '/tmp/slc-config-test', ...env });

function refusal(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('Redis configuration', () => {
  it('keeps sessions in the embedded store when no Redis variable is set', () => {
    expect(load({}).redis).toBeUndefined();
  });

  it('takes REDIS_URL as one server, with credentials and database in the URL or beside it', () => {
    expect(load({ REDIS_URL: 'redis://:pw@cache.internal:6380/2' }).redis).toEqual({
      mode: 'single',
      url: 'redis://:pw@cache.internal:6380/2',
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(load({ REDIS_URL: 'rediss://cache.internal', REDIS_PASSWORD: 'from-a-secret' }).redis).toMatchObject({
      mode: 'single',
      password: 'from-a-secret',
      tls: true,
    });
  });

  it('takes REDIS_SENTINELS with REDIS_SENTINEL_NAME as a Sentinel-managed master', () => {
    expect(
      load({
        REDIS_SENTINELS: 'sentinel-a:26379, sentinel-b ,[::1]:26380',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_PASSWORD: 'pw',
        REDIS_SENTINEL_PASSWORD: 'spw',
        REDIS_DB: '3',
        REDIS_TLS: 'true',
      }).redis,
    ).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 'sentinel-a', port: 26379 },
        { host: 'sentinel-b', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'mymaster',
      username: undefined,
      password: 'pw',
      sentinelPassword: 'spw',
      db: 3,
      tls: true,
    });
  });

  it('takes REDIS_CLUSTER_NODES as the seed nodes of a Redis Cluster', () => {
    expect(load({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2', REDIS_USERNAME: 'app', REDIS_PASSWORD: 'pw' }).redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
      ],
      username: 'app',
      password: 'pw',
      tls: false,
    });
  });

  it.each([
    [{ REDIS_URL: 'redis://a', REDIS_CLUSTER_NODES: 'b:7000' }, 'REDIS_CLUSTER_NODES', /only one of/],
    [{ REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_NAME', /required with REDIS_SENTINELS/],
    [{ REDIS_SENTINEL_NAME: 'mymaster' }, 'REDIS_SENTINEL_NAME', /needs REDIS_SENTINELS/],
    [{ REDIS_CLUSTER_NODES: 'a:99999' }, 'REDIS_CLUSTER_NODES', /between 1 and 65535/],
    [{ REDIS_CLUSTER_NODES: 'redis://a:7000' }, 'REDIS_CLUSTER_NODES', /host:port/],
    [{ REDIS_URL: 'redis://a', REDIS_TLS: 'true' }, 'REDIS_TLS', /rediss:\/\//],
    [{ REDIS_URL: 'redis://:pw@a', REDIS_PASSWORD: 'other' }, 'REDIS_PASSWORD', /one place/],
    [{ REDIS_URL: 'redis://a/cache' }, 'REDIS_URL', /database number/],
    [{ REDIS_URL: 'redis://a', REDIS_DB: '2' }, 'REDIS_DB', /Sentinel only/],
    [{ REDIS_CLUSTER_NODES: 'a', REDIS_DB: '2' }, 'REDIS_DB', /Sentinel only/],
    [{ REDIS_PASSWORD: 'pw' }, 'REDIS_PASSWORD', /needs REDIS_URL/],
    [{ REDIS_SENTINELS: 'a', REDIS_SENTINEL_NAME: 'm', REDIS_TLS: 'yes' }, 'REDIS_TLS', /"true" or "false"/],
  ])('refuses %j naming %s', (env, variable, message) => {
    const error = refusal(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });
});
