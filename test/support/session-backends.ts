// The backends the session and throttle contract suites run against. Each
// case starts what it needs (a temp SQLite folder, a fresh PostgreSQL
// database, a private key prefix on the shared Redis, its own Redis Cluster
// or Sentinel) and removes it again; none touches anything it did not create.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { type Clock, openSessions, type Sessions } from '../../server/sessions/index.ts';
import { openStore, type Store } from '../../server/store/index.ts';
import { postgresUrl, redisUrl } from './backends.ts';
import { freshPostgresUrl } from './postgres.ts';
import { redisServerMissing, SENTINEL_MASTER_NAME, startRedisCluster, startRedisSentinel } from './redis-cluster.ts';
import { tempDataDir } from './service.ts';

export interface Instance {
  sessions: Sessions;
  store: Store;
}

export interface RunningBackend {
  /** Opens one more instance on the same data: a restart, or a second server behind the load balancer. */
  open(tuning?: { sweepIntervalMs?: number; clock?: Clock }): Promise<Instance>;
  /** Closes an instance as a stopping server would. */
  close(instance: Instance): Promise<void>;
  stop(): Promise<void>;
}

export interface BackendCase {
  name: string;
  embedded: boolean;
  /** Why this backend cannot run here; the suite is skipped and says so in its name. */
  unavailable: string | undefined;
  start(): Promise<RunningBackend>;
}

function running(env: Record<string, string>, redisKeyPrefix: string | undefined, cleanup: () => Promise<void>): RunningBackend {
  const open = new Set<Instance>();
  // Redis backends still need a directory store in the parts; it stays out of the way.
  const dataDir = env.DATA_DIR ?? tempDataDir('slc-sessions-');
  const close = async (instance: Instance) => {
    if (!open.delete(instance)) return;
    await instance.sessions.close();
    await instance.store.close();
  };
  return {
    async open(tuning = {}) {
      const config = loadConfig({ LOG_LEVEL: 'silent', ...env, DATA_DIR: dataDir });
      const store = await openStore(config);
      const sessions = await openSessions({ config, store, log: createLogger('silent') }, { ...tuning, redisKeyPrefix });
      const instance = { sessions, store };
      open.add(instance);
      return instance;
    },
    close,
    async stop() {
      for (const instance of [...open]) await close(instance);
      await cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Sessions on a Redis server the test started itself. */
export async function redisBackendAt(url: string): Promise<RunningBackend> {
  return running({ REDIS_URL: url }, undefined, async () => {});
}

export const sessionBackends: BackendCase[] = [
  {
    name: 'embedded SQLite',
    embedded: true,
    unavailable: undefined,
    async start() {
      return running({ DATA_DIR: tempDataDir('slc-sessions-') }, undefined, async () => {});
    },
  },
  {
    name: 'embedded PostgreSQL',
    embedded: true,
    unavailable: postgresUrl ? undefined : 'TEST_DATABASE_URL is not set',
    async start() {
      const database = await freshPostgresUrl();
      return running({ DATABASE_URL: database.url }, undefined, () => database.drop());
    },
  },
  {
    name: 'Redis single server',
    embedded: false,
    unavailable: redisUrl ? undefined : 'TEST_REDIS_URL is not set',
    async start() {
      // The shared server is never flushed: this run owns exactly the keys under its prefix.
      const prefix = `slc-test-${randomBytes(6).toString('hex')}:`;
      return running({ REDIS_URL: redisUrl as string }, prefix, async () => {
        const client = new Redis(redisUrl as string);
        try {
          let cursor = '0';
          do {
            const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
            if (keys.length) await client.del(...keys);
            cursor = next;
          } while (cursor !== '0');
        } finally {
          client.disconnect();
        }
      });
    },
  },
  {
    name: 'Redis Cluster (three masters)',
    embedded: false,
    unavailable: redisServerMissing,
    async start() {
      const cluster = await startRedisCluster();
      return running({ REDIS_CLUSTER_NODES: cluster.addresses }, undefined, () => cluster.stop());
    },
  },
  {
    name: 'Redis Sentinel',
    embedded: false,
    unavailable: redisServerMissing,
    async start() {
      const sentinel = await startRedisSentinel();
      return running({ REDIS_SENTINELS: sentinel.addresses, REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME }, undefined, () => sentinel.stop());
    },
  },
];

export function suiteName(backend: BackendCase): string {
  return backend.unavailable ? `${backend.name} (skipped: ${backend.unavailable})` : backend.name;
}
