import { randomUUID } from 'node:crypto';
import { isUniqueViolation, now, readJson } from '../../store/index.ts';
import { InvalidPath, InvalidValue, Mutability, NotFound, Uniqueness } from '../protocol/errors.ts';
import type { Filter } from '../protocol/filter.ts';
import { applyOperation, type PatchOpName } from '../protocol/patch.ts';
import type { PatchPath } from '../protocol/paths.ts';
import { checkDocument, type Document, isObject, readResource, sameJson } from '../protocol/resource.ts';
import { findAttribute, GROUP_SCHEMA, GROUP_TYPE } from '../protocol/schemas.ts';
import { matchesValue } from '../protocol/value-filter.ts';
import type { FilterTable } from './filter-sql.ts';
import { addMembers, type Member, memberIds, membersOf, removeAllMembers, removeMembers } from './memberships.ts';
import { checkPrecondition, type Db, type Repository, type RepositoryParts, type Stored } from './repository.ts';
import { resourceTable } from './table.ts';

/** Exported for the filter tests' query plans. */
export const GROUP_FILTER: FilterTable = {
  table: 'groups',
  columns: {
    id: { column: 'groups.id', kind: 'string', caseExact: true, nullable: false },
    displayname: { column: 'groups.display_name', kind: 'string', caseExact: false, nullable: false },
    externalid: { column: 'groups.external_id', kind: 'string', caseExact: true, nullable: true },
    'meta.created': { column: 'groups.created_at', kind: 'dateTime', caseExact: true, nullable: false },
    'meta.lastmodified': { column: 'groups.updated_at', kind: 'dateTime', caseExact: true, nullable: false },
  },
  membership: { attribute: 'members', own: 'group_id', other: 'user_id' },
};

const COLUMNS = ['id', 'tenant_id', 'display_name', 'external_id', 'attributes', 'version', 'created_at', 'updated_at'] as const;

type Row = {
  id: string;
  display_name: string;
  attributes: unknown;
  version: number;
  created_at: string;
  updated_at: string;
};

const MEMBERS = findAttribute(GROUP_SCHEMA.attributes, 'members');

function checkDisplayName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidValue('displayName is required and must be a non-empty string');
  if (value.length > 256) throw new InvalidValue('displayName must be at most 256 characters');
  if (/\p{Cc}/u.test(value)) throw new InvalidValue('displayName must not contain control characters');
  return value;
}

function columnsOf(document: Document) {
  return {
    display_name: checkDisplayName(document.displayName),
    external_id: typeof document.externalId === 'string' ? document.externalId : null,
  };
}

function storedOf(row: Row, related?: Member[]): Stored {
  return {
    id: row.id,
    document: readJson<Document>(row.attributes),
    version: row.version,
    created: row.created_at,
    lastModified: row.updated_at,
    related,
  };
}

/** Members travel in their own table; the stored document never holds them. */
function detachMembers(document: Document): unknown[] | undefined {
  const members = document.members;
  delete document.members;
  return members === undefined ? undefined : (members as unknown[]);
}

/** A PATCH operation on `members`, done on the memberships table in the order the request gives. */
interface MemberEdit {
  op: PatchOpName;
  path: PatchPath;
  value: unknown;
  hasValue: boolean;
}

export function createGroups({ db, dialect }: RepositoryParts): Repository {
  const table = resourceTable({ type: GROUP_TYPE, filter: GROUP_FILTER, columns: COLUMNS }, dialect);
  const taken = (name: unknown) => new Uniqueness(`a group named "${String(name)}" already exists in this tenant`);

  async function withMembers(executor: Db, tenantId: string, rows: Row[], related: boolean): Promise<Stored[]> {
    if (!related) return rows.map((row) => storedOf(row));
    const members = await membersOf(
      executor,
      tenantId,
      rows.map((r) => r.id),
    );
    return rows.map((row) => storedOf(row, members.get(row.id)));
  }

  async function lockRow(trx: Db, tenantId: string, id: string): Promise<Row> {
    const row = (await table.findForUpdate(trx, tenantId, id)) as Row | undefined;
    if (!row) throw new NotFound(`no Group with id "${id}"`);
    return row;
  }

  /** Applies one members operation; returns whether any membership changed. */
  async function editMembers(trx: Db, tenantId: string, groupId: string, edit: MemberEdit): Promise<boolean> {
    const { op, path, value, hasValue } = edit;
    if (path.target.kind === 'attribute' && path.target.sub) {
      throw new Mutability(`"${path.text}": a member's sub-attributes cannot be changed; add or remove the member instead`);
    }
    if (op === 'add') {
      if (path.filter) throw new InvalidPath(`"${path.text}": add members with path "members" and the users in "value"`);
      return (await addMembers(trx, tenantId, groupId, memberIds(value))) > 0;
    }
    if (op === 'replace') {
      if (path.filter) throw new InvalidPath(`"${path.text}": replace the whole list with path "members", or add and remove members`);
      const ids = value === null || value === undefined ? [] : memberIds(value);
      const removed = await removeAllMembers(trx, tenantId, groupId);
      const added = await addMembers(trx, tenantId, groupId, ids);
      return removed + added > 0;
    }
    if (path.filter) return (await removeMembers(trx, tenantId, groupId, await selectedMembers(trx, tenantId, groupId, path.filter))) > 0;
    // {"op":"Remove","path":"members","value":[{"value":"<id>"}]} removes those members (Entra);
    // without a value, RFC 7644 §3.5.2.2 removes them all.
    if (hasValue && value !== null) return (await removeMembers(trx, tenantId, groupId, memberIds(value))) > 0;
    return (await removeAllMembers(trx, tenantId, groupId)) > 0;
  }

  /**
   * The members a value filter selects. Entra's `members[value eq "<id>"]`
   * (and "or" lists of them) names the ids outright: no need to read the
   * group; anything else is evaluated over the member list.
   */
  async function selectedMembers(trx: Db, tenantId: string, groupId: string, filter: Filter): Promise<string[]> {
    const named = namedIds(filter);
    if (named) return named;
    const members = (await membersOf(trx, tenantId, [groupId])).get(groupId) ?? [];
    return members.filter((m) => matchesValue(MEMBERS, { value: m.id, display: m.display, type: 'User' }, filter)).map((m) => m.id);
  }

  async function write(
    trx: Db,
    tenantId: string,
    row: Row,
    document: Document,
    membersChanged: boolean,
    related: boolean,
  ): Promise<Stored> {
    checkDocument(GROUP_TYPE, document);
    const columns = columnsOf(document);
    if (!membersChanged && sameJson(document, readJson(row.attributes))) return (await withMembers(trx, tenantId, [row], related))[0];
    const stamp = now();
    try {
      await table.update(trx, tenantId, row.id, {
        ...columns,
        attributes: JSON.stringify(document),
        version: row.version + 1,
        updated_at: stamp,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw taken(document.displayName);
      throw error;
    }
    const next: Row = { ...row, display_name: columns.display_name, attributes: document, version: row.version + 1, updated_at: stamp };
    return (await withMembers(trx, tenantId, [next], related))[0];
  }

  return {
    type: GROUP_TYPE,

    async create(tenantId, body, related) {
      const document = readResource(GROUP_TYPE, body);
      const members = detachMembers(document);
      checkDocument(GROUP_TYPE, document);
      const columns = columnsOf(document);
      const ids = members === undefined ? [] : memberIds(members);
      const stamp = now();
      const row = {
        id: randomUUID(),
        tenant_id: tenantId,
        ...columns,
        attributes: JSON.stringify(document),
        version: 1,
        created_at: stamp,
        updated_at: stamp,
      };
      try {
        return await db.transaction().execute(async (trx) => {
          await table.insert(trx, row);
          await addMembers(trx, tenantId, row.id, ids);
          return (await withMembers(trx, tenantId, [{ ...row, attributes: document }], related))[0];
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw taken(columns.display_name);
        throw error;
      }
    },

    async find(tenantId, id, related) {
      const row = (await table.find(db, tenantId, id)) as Row | undefined;
      return row ? (await withMembers(db, tenantId, [row], related))[0] : undefined;
    },

    async list(tenantId, page, related) {
      const { total, rows } = await table.list(db, tenantId, page);
      return { total, resources: await withMembers(db, tenantId, rows as unknown as Row[], related) };
    },

    async replace(tenantId, id, body, precondition, related) {
      if (isObject(body) && body.id !== undefined && body.id !== id)
        throw new Mutability(`id is immutable: the body says "${String(body.id)}", the URL "${id}"`);
      const document = readResource(GROUP_TYPE, body);
      const members = detachMembers(document);
      const ids = members === undefined ? undefined : memberIds(members);
      return db.transaction().execute(async (trx) => {
        const row = await lockRow(trx, tenantId, id);
        checkPrecondition(precondition, row.version);
        let changed = false;
        // A PUT that leaves "members" out keeps them: clearing a large group
        // because a client omitted the list would be costly and rarely meant.
        if (ids !== undefined) {
          const removed = await removeAllMembers(trx, tenantId, id);
          const added = await addMembers(trx, tenantId, id, ids);
          changed = removed + added > 0;
        }
        return write(trx, tenantId, row, document, changed, related);
      });
    },

    async modify(tenantId, id, operations, precondition, related) {
      return db.transaction().execute(async (trx) => {
        const row = await lockRow(trx, tenantId, id);
        checkPrecondition(precondition, row.version);
        const document = structuredClone(readJson<Document>(row.attributes));
        const edits: MemberEdit[] = [];
        for (const operation of operations) {
          applyOperation(GROUP_TYPE, document, operation, (op, path, value, hasValue) => {
            if (path.target.kind !== 'attribute' || path.target.extension !== null || path.target.name !== 'members') return false;
            edits.push({ op, path, value, hasValue });
            return true;
          });
        }
        let membersChanged = false;
        for (const edit of edits) {
          if (await editMembers(trx, tenantId, id, edit)) membersChanged = true;
        }
        return write(trx, tenantId, row, document, membersChanged, related);
      });
    },

    async remove(tenantId, id, precondition) {
      await db.transaction().execute(async (trx) => {
        const row = await lockRow(trx, tenantId, id);
        checkPrecondition(precondition, row.version);
        await trx.deleteFrom('groups').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
      });
    },
  };
}

/** The ids of `value eq "<id>"`, or of several joined by "or"; undefined for any other filter. */
function namedIds(filter: Filter): string[] | undefined {
  if (filter.op === 'or') {
    const parts = filter.filters.map(namedIds);
    return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
  }
  if (filter.op === 'eq' && filter.attrPath.toLowerCase() === 'value' && typeof filter.compValue === 'string') return [filter.compValue];
  return undefined;
}
