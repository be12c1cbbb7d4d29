import type { Compilable, Kysely } from 'kysely';
import type { Dialect } from '../../store/index.ts';
import { type Prepared, prepare } from '../../store/prepared.ts';
import type { Filter } from '../protocol/filter.ts';
import { DEFAULT_COUNT } from '../protocol/request.ts';
import type { ResourceTypeDefinition } from '../protocol/schemas.ts';
import type { Sort } from '../protocol/sort.ts';
import { type FilterTable, filterToSql } from './filter-sql.ts';
import { type Db, pageOf } from './repository.ts';
import { sortKeys } from './sort-sql.ts';

/** A resource type's table, its filter columns and the columns a read returns. */
export interface TableSpec {
  type: ResourceTypeDefinition;
  filter: FilterTable;
  columns: readonly string[];
}

export interface Page {
  filter?: Filter;
  /** undefined: creation order. */
  sort?: Sort;
  startIndex: number;
  count: number;
}

type Lookup = Prepared<{ tenantId: string; value: string }, Record<string, unknown>>;

/** Distinct lookups kept compiled, by attribute as spelled; Entra uses one or two. */
const KEPT_LOOKUPS = 64;

/**
 * A resource table's reads and writes: one row by id (for reading, or locked
 * for a change), one page of a list (in creation order, or sorted by one of
 * the sortable attributes) with how many match in all, and a row inserted or changed. Each is compiled once
 * (server/store/prepared.ts); writes once per set of columns.
 *
 * Entra's own lists are lookups, `userName eq "…"` or `displayName eq "…"`
 * before each create: those run as a query compiled once per attribute
 * (server/store/prepared.ts), built by the same filterToSql as any
 * other filter, so they match exactly what the general path would.
 */
export function resourceTable(spec: TableSpec, dialect: Dialect) {
  const { table } = spec.filter;
  // By attribute as spelled; null: that attribute has no compiled form.
  const kept = new Map<string, Lookup | null>();

  function query(db: Db, tenantId: string, filter: Filter | undefined) {
    let q = (db as Kysely<any>).selectFrom(table).where(`${table}.tenant_id`, '=', tenantId);
    if (filter) q = q.where(filterToSql(spec.type, spec.filter, dialect, filter));
    return q;
  }

  function rowsOf(db: Db, tenantId: string, filter: Filter | undefined, startIndex: number, count: number, sort?: Sort) {
    const page = pageOf(startIndex, count);
    let q = query(db, tenantId, filter).select(spec.columns.map((c) => `${table}.${c}`));
    if (sort) {
      for (const key of sortKeys(spec.filter, dialect, sort)) q = q.orderBy(key.expression, key.direction);
    } else {
      q = q.orderBy(`${table}.created_at`).orderBy(`${table}.id`);
    }
    return q.limit(page.limit).offset(page.offset);
  }

  /**
   * The compiled form of `<attribute> eq "<text>"` on a default first page
   * (Entra's lookups), or null where there is none. Other pages and sizes
   * take the general path: each would be SQL text of its own, and a client
   * choosing them freely must not grow the compiled set (nor PostgreSQL's
   * named statements) without bound.
   */
  function lookup(db: Db, filter: Filter | undefined, startIndex: number, count: number): Lookup | null {
    if (startIndex !== 1 || count !== DEFAULT_COUNT) return null;
    if (filter?.op !== 'eq' || typeof filter.compValue !== 'string' || !('attrPath' in filter)) return null;
    const { attrPath } = filter;
    let prepared = kept.get(attrPath);
    if (prepared !== undefined) {
      kept.delete(attrPath);
    } else {
      prepared = prepare((trx, v: { tenantId: string; value: string }) =>
        rowsOf(trx, v.tenantId, { op: 'eq', attrPath, compValue: v.value }, startIndex, count),
      );
      try {
        prepared.compile(db as Kysely<any>);
      } catch {
        // An attribute whose filter does not take the value as it is (not a
        // text column), or no attribute at all: remembered, so the general
        // path answers without another attempt.
        prepared = null;
      }
    }
    // Most recently used last; the first key is the one to let go.
    kept.set(attrPath, prepared);
    if (kept.size > KEPT_LOOKUPS) kept.delete(kept.keys().next().value as string);
    return prepared;
  }

  // Every read and change of one resource starts here: compiled once.
  const byId = (db: Db, v: { tenantId: string; id: string }) =>
    (db as Kysely<any>)
      .selectFrom(table)
      .select([...spec.columns])
      .where('tenant_id', '=', v.tenantId)
      .where('id', '=', v.id);
  const rowById = prepare(byId);
  // PostgreSQL: concurrent changes of one resource queue here instead of
  // losing each other's writes. SQLite runs one write transaction at a time.
  const rowForUpdate = prepare((db: Db, v: { tenantId: string; id: string }) =>
    byId(db, v).$if(dialect === 'postgres', (q) => q.forUpdate()),
  );

  // One compiled statement per set of columns written; a resource writes one or two sets.
  type Write = Prepared<Record<string, unknown>, unknown>;
  const inserts = new Map<string, Write>();
  const updates = new Map<string, Write>();
  /** The statement for these columns (a key whose value is undefined is no column, as in Kysely), and the values to run it with. */
  function statementFor(
    kept: Map<string, Write>,
    given: Record<string, unknown>,
    build: (trx: Kysely<any>, columns: Record<string, unknown>, v: Record<string, unknown>) => Compilable<unknown>,
  ) {
    const values = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
    const key = Object.keys(values).sort().join(',');
    let statement = kept.get(key);
    if (!statement) {
      const columns = key.split(',');
      statement = prepare((trx, v: Record<string, unknown>) => build(trx, Object.fromEntries(columns.map((c) => [c, v[c]])), v));
      kept.set(key, statement);
    }
    return { statement, values };
  }

  return {
    /** Inserts this row (its keys are the columns). */
    async insert(db: Db, row: Record<string, unknown>): Promise<void> {
      const { statement, values } = statementFor(inserts, row, (trx, columns) => trx.insertInto(table).values(columns));
      await statement.execute(db as Kysely<any>, values);
    },
    /** Sets these columns of the row with this id in this tenant. */
    async update(db: Db, tenantId: string, id: string, changes: Record<string, unknown>): Promise<void> {
      const { statement, values } = statementFor(updates, changes, (trx, columns, v) =>
        trx.updateTable(table).set(columns).where('tenant_id', '=', v['\u0000tenant']).where('id', '=', v['\u0000id']),
      );
      await statement.execute(db as Kysely<any>, { ...values, '\u0000tenant': tenantId, '\u0000id': id });
    },
    /** The row with this id in this tenant. */
    find: (db: Db, tenantId: string, id: string) => rowById.first(db as Kysely<any>, { tenantId, id }),
    /** The same, locked for the rest of the transaction on PostgreSQL. */
    findForUpdate: (db: Db, tenantId: string, id: string) => rowForUpdate.first(db as Kysely<any>, { tenantId, id }),

    async list(
      db: Db,
      tenantId: string,
      { filter, sort, startIndex, count }: Page,
    ): Promise<{ total: number; rows: Record<string, unknown>[] }> {
      const counted = async () => {
        const row = await query(db, tenantId, filter)
          .select((eb) => eb.fn.countAll<number>().as('total'))
          .executeTakeFirstOrThrow();
        return Number(row.total);
      };
      if (count === 0) return { total: await counted(), rows: [] };
      // Entra's lookups never sort; a sorted list takes the general path.
      const compiled = sort ? null : lookup(db, filter, startIndex, count);
      const rows = compiled
        ? (await compiled.execute(db as Kysely<any>, { tenantId, value: (filter as { compValue: string }).compValue })).rows
        : await rowsOf(db, tenantId, filter, startIndex, count, sort).execute();
      // A first page that is not full holds every match, so it is the count:
      // Entra's lookups by userName or displayName (0 or 1 match) skip a query.
      const total = startIndex === 1 && rows.length < count ? rows.length : await counted();
      return { total, rows };
    },
  };
}
