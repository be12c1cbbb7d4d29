import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, type PostgresPool, type SqliteDatabase, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { isBusy, LockWaitingSqliteDialect } from './lock-wait.ts';
import { migrateToLatest } from './migrations.ts';
import { type Outages, type OutageWatch, trackOutages } from './outages.ts';
import { readDirectly, statementName } from './prepared.ts';
import type { Database } from './schema.ts';

export { type Outages, type OutageWatch, Unreachable } from './outages.ts';
export type { ClientGrant, Database } from './schema.ts';
export { findUnstorableText, isStorableText, showText, UNSTORABLE } from './text.ts';
export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the embedded database lives, or a password-free description of the server. */
  location: string;
  /** The process's record of store outages: this store's, and the session store's (sessions/). */
  outages: Outages;
  /** The longest one query waits for the store (a lock, a pooled connection, an answer) before it fails. */
  deadlineMs: number;
  ping(): Promise<void>;
  close(): Promise<void>;
}

// bigint columns (epoch milliseconds) come back from pg as strings by default;
// they fit a JS number for the next few hundred thousand years.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** What opening a store needs: where it is and its deadlines (each defaults as in config.ts). */
export type StoreConfig = Pick<Config, 'dataDir' | 'databaseUrl'> &
  Partial<Pick<Config, 'databaseStatementTimeoutMs' | 'databaseConnectTimeoutMs'>>;

const DEFAULT_DEADLINE_MS = 5_000;

export async function openStore(config: StoreConfig, options: { migrate?: boolean; log?: Logger } = {}): Promise<Store> {
  const outages = trackOutages(options.log);
  const statementMs = config.databaseStatementTimeoutMs ?? DEFAULT_DEADLINE_MS;
  const store = config.databaseUrl
    ? openPostgres(config.databaseUrl, statementMs, config.databaseConnectTimeoutMs ?? DEFAULT_DEADLINE_MS, outages)
    : openSqlite(config.dataDir, statementMs, outages);
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

function openSqlite(dataDir: string, lockWaitMs: number, outages: Outages): Store {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'securelogin.db');
  // Opening may wait for a lock the synchronous way: nothing is served yet.
  const database = new SQLite(file, { timeout: 5_000 });
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.pragma('synchronous = NORMAL');
  // From here on a lock is waited for on a timer, never inside a call (lock-wait.ts).
  database.pragma('busy_timeout = 0');
  const statements = keepingStatements(database);
  const watch = outages.watch('directory', file);
  const db = new Kysely<Database>({ dialect: new LockWaitingSqliteDialect({ database: statements }, lockWaitMs, watch) });
  // Kysely's executor costs more than SQLite's lookup itself (promises, a
  // connection mutex); a read outside any transaction needs none of it.
  // Inside one (another request's, open across awaits) it queues as before,
  // so it never sees uncommitted rows.
  readDirectly(db, (text, parameters) => {
    if (database.inTransaction) return undefined;
    const statement = statements.prepare(text) as SQLite.Statement;
    if (!statement.reader) return undefined;
    try {
      return statement.all(parameters as unknown[]);
    } catch (error) {
      // A read meets a lock only while another process holds the whole file
      // (a checkpoint's reset, an exclusive lock): queue it, to wait on a timer.
      if (isBusy(error)) return undefined;
      throw error;
    }
  });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    outages,
    deadlineMs: lockWaitMs,
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
 *
 * It also watches each query's outcome: an answer ends a store outage, a
 * server that did not answer begins one, and a client whose query passed
 * the client-side deadline is `broken`: its connection still waits for that
 * answer, so it must never run another query or go back to the pool.
 */
function watchingQueries(client: pg.PoolClient, watch: OutageWatch, broken: WeakSet<pg.PoolClient>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof text === 'string' ? statementName(text) : undefined;
    const config = name ? { name, text, values } : text;
    if (callback !== undefined || typeof values === 'function') return name ? query(config, callback) : query(text, values, callback);
    if (broken.has(client)) return Promise.reject(new Error('Connection terminated: the server did not answer the previous query in time'));
    const pending = (name ? query(config) : query(text, values)) as Promise<unknown>;
    return pending.then(
      (result) => {
        watch.answered();
        return result;
      },
      (error: unknown) => {
        if ((error as Error)?.message === CLIENT_DEADLINE_MESSAGE) broken.add(client);
        if (isStoreUnavailable(error) && !ANSWERED_CODES.has((error as { code?: string }).code ?? '')) watch.failed(error);
        else watch.answered();
        throw error;
      },
    );
  }) as typeof client.query;
}

/** What pg says when `query_timeout` passed before the server answered. */
const CLIENT_DEADLINE_MESSAGE = 'Query read timeout';
/** The server's own deadlines: it did answer (in time), so it is no outage; the request still gets 503. */
const ANSWERED_CODES = new Set(['57014', '55P03']);
/**
 * How much longer than statement_timeout the client waits: a server that is
 * there cancels the statement itself and says so (and keeps the connection);
 * only one that is stopped or cut off is waited for this long.
 */
const CLIENT_DEADLINE_SLACK_MS = 1_000;

function openPostgres(databaseUrl: string, statementMs: number, connectMs: number, outages: Outages): Store {
  const url = new URL(databaseUrl);
  url.password = '';
  const location = url.toString();
  // Every query's outcome reaches the watch, the first successful one included.
  const watch = outages.watch('directory', location, { quietUntilAnswered: true });
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    // Both waiting for a free pooled connection and opening a new one: a
    // server that accepts TCP but never finishes the handshake (stopped,
    // overloaded) is given up on here.
    connectionTimeoutMillis: connectMs,
    // keepAlive: a connection whose server vanished without a word (a network
    // partition, a failed-over host) is noticed instead of waited on forever.
    keepAlive: true,
    statement_timeout: statementMs,
    lock_timeout: statementMs,
    // statement_timeout is the server's: a stopped server or a cut network
    // never sends its cancel, and requests were held until it came back (40 s).
    query_timeout: statementMs + CLIENT_DEADLINE_SLACK_MS,
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => {});
  const broken = new WeakSet<pg.PoolClient>();
  // Nor may a client that is checked out: pg emits 'error' on it as well as
  // rejecting its query, and the pool listens only while the client is idle.
  // The query's caller gets the error; the pool drops the broken client.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    watchingQueries(client, watch, broken);
  });
  // Kysely gives every client back with release(); one whose query passed the
  // deadline is destroyed instead (release(true)), so that no later request
  // waits behind the answer it never got.
  const deadlinedPool: PostgresPool = {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        if (isStoreUnavailable(error)) watch.failed(error);
        throw error;
      }
      const release = client.release;
      client.release = (destroy?: Error | boolean) => release(destroy || broken.has(client));
      return client;
    },
    end: () => pool.end(),
    options: pool.options,
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: deadlinedPool }) });
  return {
    db,
    dialect: 'postgres',
    location,
    outages,
    // Waiting for a pooled connection, then for the answer.
    deadlineMs: connectMs + statementMs + CLIENT_DEADLINE_SLACK_MS,
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
  // Our own deadlines (statement_timeout, lock_timeout): the server is busy or a lock is held too long.
  '57014', // query_canceled
  '55P03', // lock_not_available
  // SQLite: another connection held the lock past the deadline (lock-wait.ts).
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_RECOVERY',
]);

// pg and pg-pool report a lost or never-made connection by message only;
// Kysely and better-sqlite3 likewise a store closed under a query (the
// process is stopping: its last requests are answered 503, not 500).
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout|driver has already been destroyed|The database connection is not open)/;

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
