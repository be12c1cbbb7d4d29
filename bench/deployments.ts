import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Child, startRedis } from './processes.ts';

/*
 * The two ways the product is deployed, each set up fresh for a run and
 * removed after it: the embedded store (SQLite in a temporary DATA_DIR,
 * sessions in the same file), and scale-out (a new database on the
 * PostgreSQL server, sessions and tokens in a Redis of the run's own).
 */

export type DeploymentName = 'embedded' | 'scale-out';

export interface Deployment {
  name: DeploymentName;
  /** The server's environment for this deployment (besides PORT, PUBLIC_URL, LOG_LEVEL). */
  env: Record<string, string>;
  /** What the store module needs to open the same directory the server uses. */
  storeConfig: { dataDir: string; databaseUrl: string | undefined };
  describe: string;
  /** The processes of the stores serving this deployment's server, whose CPU time counts as the server's too. */
  storePids(): Promise<number[]>;
  teardown(): Promise<void>;
}

/** The PostgreSQL server new databases are created on; the database in the URL is only used to connect. */
export const POSTGRES_ADMIN_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export async function embedded(): Promise<Deployment> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-bench-'));
  return {
    name: 'embedded',
    env: { DATA_DIR: dataDir },
    storeConfig: { dataDir, databaseUrl: undefined },
    describe: 'SQLite (WAL) in a temporary DATA_DIR; sessions and tokens in the same store',
    storePids: async () => [],
    async teardown() {
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function administer(statement: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(statement, values)).rows;
  } finally {
    await client.end();
  }
}

export async function scaleOut(logDir: string): Promise<Deployment> {
  const name = `slc_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  try {
    await administer(`CREATE DATABASE "${name}"`);
  } catch (error) {
    throw new Error(`scale-out needs PostgreSQL at ${redacted(POSTGRES_ADMIN_URL)} (set BENCH_DATABASE_URL): ${(error as Error).message}`);
  }
  const databaseUrl = new URL(POSTGRES_ADMIN_URL);
  databaseUrl.pathname = `/${name}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-bench-'));
  let redis: Child | undefined;
  let redisUrl = process.env.BENCH_REDIS_URL;
  try {
    if (!redisUrl) {
      redis = await startRedis(path.join(logDir, 'redis.log'));
      redisUrl = redis.url;
    }
  } catch (error) {
    await administer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    throw new Error(`scale-out needs redis-server on PATH, or BENCH_REDIS_URL: ${(error as Error).message}`);
  }
  return {
    name: 'scale-out',
    env: { DATA_DIR: dataDir, DATABASE_URL: databaseUrl.toString(), REDIS_URL: redisUrl },
    storeConfig: { dataDir, databaseUrl: databaseUrl.toString() },
    describe: `PostgreSQL (${redacted(databaseUrl.toString())}) + Redis (${redis ? 'redis-server started by the run' : redacted(redisUrl)})`,
    async storePids() {
      // The backends connected to this run's database only: the PostgreSQL server is shared.
      const rows = await administer('select pid from pg_stat_activity where datname = $1', [name]);
      const pids = rows.map((r) => Number(r.pid));
      if (redis?.process.pid !== undefined) pids.push(redis.process.pid);
      return pids;
    },
    async teardown() {
      await redis?.stop();
      await administer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function redacted(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}
