import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import type { OutageWatch } from './outages.ts';

/** True when SQLite refused because another connection (process) holds the lock this statement needs. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** The longest pause between two tries: a lock freed is noticed within this. */
const LONGEST_PAUSE_MS = 50;

/**
 * SQLite's busy_timeout waits for another connection's lock inside the call,
 * and better-sqlite3 makes that call synchronously: while a backup, a sqlite3
 * shell or the CLI held the write lock, the whole event loop stood still for
 * up to 5 s, /healthz included. So the database runs with busy_timeout 0 and
 * a statement SQLite answers BUSY is tried again after a pause on a timer,
 * growing to LONGEST_PAUSE_MS, until `lockWaitMs` has passed; then the BUSY
 * error stands and the request is answered 503 (isStoreUnavailable).
 *
 * Transactions begin IMMEDIATE, taking the write lock at BEGIN: that BEGIN
 * is what waits, and a transaction never finds the lock taken halfway, where
 * retrying one statement could not help (SQLITE_BUSY_SNAPSHOT). Reads
 * outside a transaction need no lock in WAL mode.
 */
export class LockWaitingSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #lockWaitMs: number;
  readonly #watch: OutageWatch;

  constructor(config: SqliteDialectConfig, lockWaitMs: number, watch: OutageWatch) {
    super(config);
    this.#config = config;
    this.#lockWaitMs = lockWaitMs;
    this.#watch = watch;
  }

  override createDriver(): Driver {
    return new LockWaitingDriver(this.#config, this.#lockWaitMs, this.#watch);
  }
}

class LockWaitingDriver extends SqliteDriver {
  readonly #lockWaitMs: number;
  readonly #watch: OutageWatch;
  #connection: DatabaseConnection | undefined;

  constructor(config: SqliteDialectConfig, lockWaitMs: number, watch: OutageWatch) {
    super(config);
    this.#lockWaitMs = lockWaitMs;
    this.#watch = watch;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#connection) {
      const inner = await super.acquireConnection();
      const lockWaitMs = this.#lockWaitMs;
      const watch = this.#watch;
      this.#connection = {
        executeQuery: <R>(query: CompiledQuery) => waitingForLock(() => inner.executeQuery<R>(query), lockWaitMs, watch),
        streamQuery: <R>(query: CompiledQuery, chunkSize: number) => inner.streamQuery<R>(query, chunkSize),
      };
    }
    return this.#connection;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

async function waitingForLock<R>(run: () => Promise<QueryResult<R>>, lockWaitMs: number, watch: OutageWatch): Promise<QueryResult<R>> {
  const giveUpAt = Date.now() + lockWaitMs;
  let pause = 1;
  for (;;) {
    try {
      const result = await run();
      // A write went through (a read says nothing of the write lock): a lock outage is over.
      if (watch.down && result.numAffectedRows !== undefined) watch.answered();
      return result;
    } catch (error) {
      const left = giveUpAt - Date.now();
      if (!isBusy(error) || left <= 0) {
        if (isBusy(error)) watch.failed(error);
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }
}
