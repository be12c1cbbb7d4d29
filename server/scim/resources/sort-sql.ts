import { type RawBuilder, sql } from 'kysely';
import type { Dialect } from '../../store/index.ts';
import type { Sort } from '../protocol/sort.ts';
import type { FilterTable } from './filter-sql.ts';

export interface SortKey {
  expression: RawBuilder<unknown>;
  direction: 'asc' | 'desc';
}

/**
 * The ORDER BY of a sorted list: the attribute's column, then the id, so
 * that ties (and missing values) keep one order and pages never overlap or
 * skip. Each key is written exactly as the index of migration 0006 is, so
 * the page is an index range; change one, change the other.
 *
 * Both engines give the same order:
 * - text compares byte by byte (PostgreSQL `collate "C"`, SQLite's BINARY),
 *   not by the database's locale;
 * - userName and displayName ignore case as SQLite's lower() does, ASCII
 *   letters only (PostgreSQL's lower() under "C" is the same): "ä" and "Ä"
 *   are two letters for sorting, on both;
 * - a missing value (externalId, a user's displayName) sorts last ascending
 *   and first descending: PostgreSQL's default, and on SQLite, whose NULLs
 *   come first, a leading `is null` key.
 */
export function sortKeys(table: FilterTable, dialect: Dialect, sort: Sort): SortKey[] {
  const column = table.columns[sort.attribute];
  if (!column) throw new Error(`no column for sorting by ${sort.attribute}`);
  const direction = sort.descending ? 'desc' : 'asc';
  const ref = sql.ref(column.column);
  const id = sql.ref(`${table.table}.id`);
  const keys: RawBuilder<unknown>[] = [];
  if (dialect === 'postgres') {
    keys.push(column.caseExact ? sql`(${ref} collate "C")` : sql`lower(${ref} collate "C")`);
    if (sort.attribute !== 'id') keys.push(sql`(${id} collate "C")`);
  } else {
    if (column.nullable) keys.push(sql`(${ref} is null)`);
    keys.push(column.caseExact ? ref : sql`lower(${ref})`);
    if (sort.attribute !== 'id') keys.push(id);
  }
  return keys.map((expression) => ({ expression, direction }));
}
