import type { Kysely } from 'kysely';
import { type Database, isStorableText } from '../store/index.ts';
import { type ActivityEntry, OPERATIONS, type Operation } from './types.ts';

export const OUTCOMES = ['success', 'client_error', 'unauthorized', 'server_error'] as const;
export type OutcomeClass = (typeof OUTCOMES)[number];

export interface ActivityQuery {
  tenantId: string;
  /** A userName or displayName (any case), a resource id or a request id. */
  search?: string;
  outcome?: OutcomeClass;
  operation?: Operation;
  /** ISO-8601: entries at or after. */
  since?: string;
  /** The page after this one (from a previous page's `next`). */
  after?: string;
  limit: number;
}

export interface ActivityPage {
  entries: ActivityEntry[];
  /** The cursor of the next (older) page; undefined on the last one. */
  next: string | undefined;
}

export const MAX_PAGE = 500;

/** An opaque keyset cursor: the (at, id) of the last entry shown. */
function cursorOf(entry: { at: string; id: string }): string {
  return Buffer.from(`${entry.at}|${entry.id}`).toString('base64url');
}

function readCursor(cursor: string | undefined): { at: string; id: string } | undefined {
  if (!cursor) return undefined;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || !isStorableText(at) || !isStorableText(id) || Number.isNaN(Date.parse(at))) return undefined;
  return { at, id };
}

export function isOperation(value: unknown): value is Operation {
  return typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value);
}

export function isOutcome(value: unknown): value is OutcomeClass {
  return typeof value === 'string' && (OUTCOMES as readonly string[]).includes(value);
}

/**
 * A tenant's activity, newest first, one page at a time. Keyset paging on
 * (tenant_id, at desc, id desc), the index 0009 made, so the hundredth page
 * of a large tenant costs what the first does.
 */
export async function listActivity(db: Kysely<Database>, query: ActivityQuery): Promise<ActivityPage> {
  const limit = Math.max(1, Math.min(MAX_PAGE, query.limit));
  let select = db.selectFrom('scim_activity').selectAll().where('tenant_id', '=', query.tenantId);
  const after = readCursor(query.after);
  if (after) {
    select = select.where((eb) => eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]));
  }
  if (query.since) select = select.where('at', '>=', query.since);
  if (query.operation) select = select.where('operation', '=', query.operation);
  if (query.outcome === 'success') select = select.where('status', '<', 400);
  if (query.outcome === 'unauthorized') select = select.where('status', '=', 401);
  if (query.outcome === 'client_error') select = select.where('status', '>=', 400).where('status', '<', 500).where('status', '<>', 401);
  if (query.outcome === 'server_error') select = select.where('status', '>=', 500);
  const search = query.search?.trim();
  if (search && isStorableText(search)) {
    select = select.where((eb) =>
      eb.or([
        eb('request_id', '=', search),
        eb('resource_id', '=', search),
        eb(eb.fn('lower', ['resource_name']), '=', search.toLowerCase()),
      ]),
    );
  }
  const rows = await select
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const entries: ActivityEntry[] = rows.slice(0, limit).map((row) => ({
    id: row.id,
    tenantId: row.tenant_id,
    at: row.at,
    grantId: row.grant_id,
    clientId: row.client_id,
    requestId: row.request_id,
    method: row.method,
    operation: isOperation(row.operation) ? row.operation : 'other',
    memberCount: row.member_count,
    resourceType: row.resource_type === 'User' || row.resource_type === 'Group' ? row.resource_type : null,
    resourceId: row.resource_id,
    resourceName: row.resource_name,
    status: row.status,
    scimType: row.scim_type,
    detail: row.detail,
    attributes: row.attributes ? row.attributes.split(',') : [],
  }));
  return { entries, next: rows.length > limit ? cursorOf(entries[entries.length - 1]) : undefined };
}
