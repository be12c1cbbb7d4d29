import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.ts';
import { migrateToLatest } from './migrations.ts';
import { readDirectly, statementName } from './prepared.ts';
import type { Database } from './schema.ts';

export type { Database } from './schema.ts';
export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the embedded database lives, or a password-free description of the server. */
  location: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

// bigint columns (epoch milliseconds) come back from pg as strings by default;
// they fit a JS number for the next few hundred thousand years.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export async function openStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>, options: { migrate?: boolean } = {}): Promise<Store> {
  const store = config.databaseUrl ? openPostgres(config.databaseUrl) : openSqlite(config.dataDir);
  if (options.migrate !== false) {
    try {
      await migrateToLatest(store.db, store.dialect);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}

function openSqlite(dataDir: string): Store {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'securelogin.db');
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  database.pragma('synchronous = NORMAL');
  const statements = keepingStatements(database);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
  // Kysely's executor costs more than SQLite's lookup itself (promises, a
  // connection mutex); a read outside any transaction needs none of it.
  // Inside one (another request's, open across awaits) it queues as before,
  // so it never sees uncommitted rows.
  readDirectly(db, (text, parameters) => {
    if (database.inTransaction) return undefined;
    const statement = statements.prepare(text) as SQLite.Statement;
    return statement.reader ? statement.all(parameters as unknown[]) : undefined;
  });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Distinct SQL texts kept compiled; IN lists and multi-row inserts of every length each make their own. */
const KEPT_STATEMENTS = 500;

/**
 * Kysely asks better-sqlite3 to prepare every query it runs, and preparing
 * compiles (parses and plans) the SQL each time: a fifth of the server's
 * time under load went there (bench/, BENCHMARKS.md). This keeps the most
 * recently used statements by their SQL text and hands the same one back.
 * A statement is only ever run to completion before the next query starts
 * (Kysely serialises the one SQLite connection), so sharing it is safe.
 */
function keepingStatements(database: SQLite.Database): SqliteDatabase {
  const kept = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = kept.get(text);
      if (statement) kept.delete(text);
      else statement = database.prepare(text);
      // Re-inserted last: the Map's first key is the least recently used.
      kept.set(text, statement);
      if (kept.size > KEPT_STATEMENTS) kept.delete(kept.keys().next().value as string);
      return statement;
    },
  };
}

/**
 * Sends the queries prepared.ts compiles once as named statements: each
 * connection then parses and plans one of them once, not on every run,
 * which was most of PostgreSQL's CPU per SCIM read (BENCHMARKS.md). Any
 * other SQL goes as before. A named statement outlives schema changes as
 * long as its result columns do not change: those queries name their
 * columns instead of selecting *.
 */
function namingPrepared(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof text === 'string' ? statementName(text) : undefined;
    return name ? query({ name, text, values }, callback) : query(text, values, callback);
  }) as typeof client.query;
}

function openPostgres(databaseUrl: string): Store {
  // keepAlive: a connection whose server vanished without a word (a network
  // partition, a failed-over host) is noticed instead of waited on forever.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5_000, keepAlive: true });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => {});
  // Nor may a client that is checked out: pg emits 'error' on it as well as
  // rejecting its query, and the pool listens only while the client is idle.
  // The query's caller gets the error; the pool drops the broken client.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    namingPrepared(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const url = new URL(databaseUrl);
  url.password = '';
  return {
    db,
    dialect: 'postgres',
    location: url.toString(),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/** JSON columns: text in SQLite, already parsed by pg from jsonb. */
export function readJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** Seconds a client is asked to wait (Retry-After) when a store does not answer. */
export const UNAVAILABLE_RETRY_SECONDS = 5;

// Failures that say the database is away or not accepting work right now,
// not that the request was wrong: the same request can succeed later.
const UNAVAILABLE_CODES = new Set([
  // Node's socket errors, as pg passes them on.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  // PostgreSQL class 08 (connection exception) and the shutdown and start-up states of class 57.
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or recovering
  '53300', // too_many_connections
  // SQLite: the file stayed locked past busy_timeout.
  'SQLITE_BUSY',
]);

// pg and pg-pool report a lost or never-made connection by message only.
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

/**
 * True when `error` means the directory store did not answer (refused,
 * dropped or timed-out connections, a server shutting down or starting up),
 * so the request should be answered 503 with Retry-After rather than 500, and
 * never as a verdict on the request (a token is not invalid because the store
 * that would confirm it is down). Looks through `cause` and AggregateError.
 */
export function isStoreUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isStoreUnavailable(inner, depth + 1))) return true;
  return isStoreUnavailable(e.cause, depth + 1);
}

/** True when `error` is a unique-constraint violation in either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === '23505';
}

/** True when `error` is a foreign-key violation in either engine. */
export function isForeignKeyViolation(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e?.code === '23503';
}

export function now(): string {
  return new Date().toISOString();
}
