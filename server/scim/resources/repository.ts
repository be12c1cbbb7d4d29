import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { Database, Dialect } from '../../store/index.ts';
import { PreconditionFailed } from '../protocol/errors.ts';
import type { Filter } from '../protocol/filter.ts';
import type { PatchOperation } from '../protocol/patch.ts';
import type { Document } from '../protocol/resource.ts';
import type { ResourceTypeDefinition } from '../protocol/schemas.ts';
import type { Sort } from '../protocol/sort.ts';

export type Db = Kysely<Database> | Transaction<Database>;

/** A resource as read from the store, before it is shaped for the wire (render.ts adds schemas, meta and $refs). */
export interface Stored {
  id: string;
  /** The attributes: what the client sent, with the columns that are the truth (userName, active) laid over it. */
  document: Document;
  version: number;
  created: string;
  lastModified: string;
  /** A user's groups or a group's members, when they were asked for. */
  related?: { id: string; display: string | undefined }[];
}

export interface ListQuery {
  filter: Filter | undefined;
  /** undefined: creation order. */
  sort?: Sort;
  /** 1-based, as in RFC 7644 §3.4.2.4. */
  startIndex: number;
  count: number;
}

/** An RFC 7644 §3.14 If-Match precondition: a list of weak or strong tags, or "*". */
export type Precondition = string | undefined;

/**
 * What the SCIM operations need from a resource type's store. Every method
 * takes the tenant from the verified token and never touches another's rows:
 * an id of another tenant is simply not found.
 */
export interface Repository {
  type: ResourceTypeDefinition;
  create(tenantId: string, body: unknown, related: boolean): Promise<Stored>;
  find(tenantId: string, id: string, related: boolean): Promise<Stored | undefined>;
  list(tenantId: string, query: ListQuery, related: boolean): Promise<{ total: number; resources: Stored[] }>;
  replace(tenantId: string, id: string, body: unknown, precondition: Precondition, related: boolean): Promise<Stored>;
  modify(tenantId: string, id: string, operations: PatchOperation[], precondition: Precondition, related: boolean): Promise<Stored>;
  remove(tenantId: string, id: string, precondition: Precondition): Promise<void>;
}

export interface RepositoryParts {
  db: Kysely<Database>;
  dialect: Dialect;
}

export function etag(version: number): string {
  return `W/"${version}"`;
}

/** Throws 412 unless If-Match names this version (weak comparison) or is "*". */
export function checkPrecondition(precondition: Precondition, version: number): void {
  if (precondition === undefined) return;
  const tags = precondition.split(',').map((t) => t.trim());
  if (tags.includes('*')) return;
  const matches = tags.some((tag) => tag.replace(/^W\//, '') === `"${version}"`);
  if (!matches) throw new PreconditionFailed(`the resource is at version ${etag(version)}, not ${precondition}`);
}

/** Runs `work` over `ids` in slices, keeping IN lists well under both engines' parameter limits. */
export async function inSlices<T>(ids: string[], work: (slice: string[]) => Promise<T[]>, size = 500): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += size) out.push(...(await work(ids.slice(i, i + size))));
  return out;
}

/**
 * A page's LIMIT and OFFSET as numbers in the SQL text rather than bound
 * parameters: SQLite re-plans a statement whose LIMIT is a parameter every
 * time the value is bound, which cost a list read more than the read itself
 * (BENCHMARKS.md). The values are whole numbers from request.ts, held to
 * the range both engines take.
 */
export function pageOf(startIndex: number, count: number): { limit: RawBuilder<number>; offset: RawBuilder<number> } {
  const whole = (n: number) => Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(n)));
  return { limit: sql.lit(whole(count)), offset: sql.lit(whole(startIndex - 1)) };
}
