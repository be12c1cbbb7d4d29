import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';

/**
 * A query built and compiled once, then run with new values.
 *
 * Kysely builds an operation tree and compiles it to SQL on every call; on
 * the token check and the SCIM lookups that was a fifth of a request's CPU
 * (bench/, BENCHMARKS.md). Here the builder runs once per database, with
 * stand-ins for the values that change; each run swaps the real values into
 * the compiled parameter list. The SQL text is the same every time: SQLite's
 * statement cache keeps one statement for it, and PostgreSQL one named
 * statement per connection (store/index.ts). Works on a database or a
 * transaction alike.
 *
 * Only values may be stand-ins, never identifiers, limits that change the
 * SQL, or lists whose length changes the text (`in (…)`): those stay with
 * ordinary Kysely queries. The builder must not look at the values (it sees
 * stand-ins), and the set of queries prepared must be bounded by the code,
 * never by what clients send: each is kept for the life of the process.
 */
export interface Prepared<P, R> {
  execute(db: Kysely<any>, values: P): Promise<QueryResult<R>>;
  /** The first row, or undefined. */
  first(db: Kysely<any>, values: P): Promise<R | undefined>;
  /** Builds and compiles the query for this database now, throwing if it cannot be prepared. */
  compile(db: Kysely<any>): void;
}

// A stand-in is a string no caller can produce by accident: the parameter
// list is scanned for these after compiling.
const STAND_IN = '\u0000securelogin-prepared\u0000';

// Every SQL text compiled here, and the statement name PostgreSQL knows it by.
const names = new Map<string, string>();

/**
 * The name under which a compiled-once query is kept on each PostgreSQL
 * connection (store/index.ts), or undefined for any other SQL.
 */
export function statementName(text: string): string | undefined {
  return names.get(text);
}

/** Runs a read on the connection at once, or answers undefined when it must queue behind Kysely's. */
export type DirectReader = (text: string, parameters: readonly unknown[]) => unknown[] | undefined;
const direct = new WeakMap<object, DirectReader>();

/**
 * Lets compiled-once reads on this database skip Kysely's executor (store/
 * index.ts, for SQLite: better-sqlite3 runs a statement synchronously, so a
 * read outside a transaction cannot interleave with anything).
 */
export function readDirectly(db: Kysely<any>, reader: DirectReader): void {
  direct.set(db, reader);
}

export function prepare<P extends Record<string, unknown>, R>(build: (db: Kysely<any>, values: P) => Compilable<R>): Prepared<P, R> {
  // Keyed by the dialect's adapter, which a database shares with its
  // transactions: the SQL is the same for both.
  const compiled = new WeakMap<object, { query: CompiledQuery<R>; slots: (string | null)[] }>();

  function compile(db: Kysely<any>) {
    const dialect = db.getExecutor().adapter;
    let entry = compiled.get(dialect);
    if (entry) return entry;
    const asked = new Set<string>();
    const standIns = new Proxy({} as P, {
      get(_target, name) {
        if (typeof name !== 'string') return undefined;
        asked.add(name);
        return STAND_IN + name;
      },
    });
    const query = build(db, standIns).compile();
    const slots = query.parameters.map((value) =>
      typeof value === 'string' && value.startsWith(STAND_IN) ? value.slice(STAND_IN.length) : null,
    );
    const used = new Set(slots.filter((slot) => slot !== null));
    for (const name of asked) {
      // A stand-in that reached the SQL text instead of the parameters would
      // run as a literal: refuse such a query when it is first built.
      if (!used.has(name)) throw new Error(`prepared query: ${name} is not a plain parameter`);
    }
    if (!names.has(query.sql)) names.set(query.sql, `securelogin_${names.size + 1}`);
    entry = { query, slots };
    compiled.set(dialect, entry);
    return entry;
  }

  async function execute(db: Kysely<any>, values: P): Promise<QueryResult<R>> {
    // A plugin rewrites queries as they are built; a database with one (the
    // tests' statement recorder) gets the query built afresh, as it asked.
    if (db.getExecutor().plugins.length > 0) return db.executeQuery(build(db, values));
    const { query, slots } = compile(db);
    const parameters = query.parameters.map((constant, i) => {
      const slot = slots[i];
      return slot === null ? constant : values[slot as keyof P];
    });
    const rows = direct.get(db)?.(query.sql, parameters);
    if (rows) return { rows: rows as R[] };
    return db.executeQuery(CompiledQuery.raw(query.sql, parameters) as CompiledQuery<R>);
  }

  return {
    execute,
    compile,
    async first(db, values) {
      const result = await execute(db as Kysely<any>, values);
      return result.rows[0];
    },
  };
}
