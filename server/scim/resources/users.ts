import { randomUUID } from 'node:crypto';
import { isUniqueViolation, now, readJson } from '../../store/index.ts';
import { prepare } from '../../store/prepared.ts';
import { InvalidValue, Mutability, NotFound, Uniqueness } from '../protocol/errors.ts';
import { applyOperation } from '../protocol/patch.ts';
import { checkDocument, type Document, isObject, readResource, sameJson } from '../protocol/resource.ts';
import { USER_TYPE } from '../protocol/schemas.ts';
import type { FilterTable } from './filter-sql.ts';
import { groupsOf } from './memberships.ts';
import { checkPrecondition, type Db, type Repository, type RepositoryParts, type Stored } from './repository.ts';
import { resourceTable } from './table.ts';

/** Exported for the filter tests' query plans. */
export const USER_FILTER: FilterTable = {
  table: 'users',
  columns: {
    id: { column: 'users.id', kind: 'string', caseExact: true, nullable: false },
    username: { column: 'users.user_name', kind: 'string', caseExact: false, nullable: false },
    externalid: { column: 'users.external_id', kind: 'string', caseExact: true, nullable: true },
    displayname: { column: 'users.display_name', kind: 'string', caseExact: false, nullable: true },
    active: { column: 'users.active', kind: 'boolean', caseExact: true, nullable: false },
    'meta.created': { column: 'users.created_at', kind: 'dateTime', caseExact: true, nullable: false },
    'meta.lastmodified': { column: 'users.updated_at', kind: 'dateTime', caseExact: true, nullable: false },
  },
  membership: { attribute: 'groups', own: 'user_id', other: 'group_id' },
  workEmail: 'users.work_email',
};

// Never password_hash or role: SCIM neither shows them nor changes them.
const COLUMNS = [
  'id',
  'tenant_id',
  'user_name',
  'external_id',
  'work_email',
  'display_name',
  'active',
  'attributes',
  'version',
  'created_at',
  'updated_at',
] as const;

type Row = {
  id: string;
  user_name: string;
  active: number;
  attributes: unknown;
  version: number;
  created_at: string;
  updated_at: string;
};

/** The same rules the CLI applies to a username, since SCIM users sign in with it too. */
function checkUserName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidValue('userName is required and must be a non-empty string');
  if (value !== value.trim()) throw new InvalidValue('userName must not begin or end with spaces');
  if (value.length > 256) throw new InvalidValue('userName must be at most 256 characters');
  if (/\p{Cc}/u.test(value)) throw new InvalidValue('userName must not contain control characters');
  return value;
}

/** The columns kept beside the document: userName unique per tenant, and what Entra matches on. */
function columnsOf(document: Document) {
  return {
    user_name: checkUserName(document.userName),
    external_id: typeof document.externalId === 'string' ? document.externalId : null,
    work_email: workEmailOf(document),
    display_name: typeof document.displayName === 'string' ? document.displayName : null,
  };
}

/** The work email Entra matches on: of several, the primary one, else the first. */
function workEmailOf(document: Document): string | null {
  const emails = Array.isArray(document.emails) ? document.emails.filter(isObject) : [];
  const work = emails.filter((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work' && typeof e.value === 'string');
  const chosen = work.find((e) => e.primary === true) ?? work[0];
  return chosen ? (chosen.value as string) : null;
}

/** The document as stored, with the columns that are the truth laid over it (the CLI can disable a user). */
function documentOf(row: Row): Document {
  const document = readJson<Document>(row.attributes);
  return { ...document, userName: row.user_name, active: row.active === 1 };
}

function storedOf(row: Row, related?: Stored['related']): Stored {
  return {
    id: row.id,
    document: documentOf(row),
    version: row.version,
    created: row.created_at,
    lastModified: row.updated_at,
    related,
  };
}

// Entra's deprovisioning deletes users one by one: compiled once (server/store/prepared.ts).
const touchGroupsOf = prepare((db: Db, v: { tenantId: string; id: string; stamp: string }) =>
  db
    .updateTable('groups')
    .set((eb) => ({ version: eb('version', '+', 1), updated_at: v.stamp }))
    .where('tenant_id', '=', v.tenantId)
    .where('id', 'in', (eb) => eb.selectFrom('memberships').select('group_id').where('user_id', '=', v.id)),
);
const deleteUser = prepare((db: Db, v: { tenantId: string; id: string }) =>
  db.deleteFrom('users').where('tenant_id', '=', v.tenantId).where('id', '=', v.id),
);

export function createUsers({ db, dialect }: RepositoryParts): Repository {
  const table = resourceTable({ type: USER_TYPE, filter: USER_FILTER, columns: COLUMNS }, dialect);
  const taken = (userName: unknown) => new Uniqueness(`userName "${String(userName)}" is already in use in this tenant`);

  async function withGroups(executor: Db, tenantId: string, rows: Row[], related: boolean): Promise<Stored[]> {
    if (!related) return rows.map((row) => storedOf(row));
    const groups = await groupsOf(
      executor,
      tenantId,
      rows.map((r) => r.id),
    );
    return rows.map((row) => storedOf(row, groups.get(row.id)));
  }

  async function lockRow(trx: Db, tenantId: string, id: string): Promise<Row> {
    const row = (await table.findForUpdate(trx, tenantId, id)) as Row | undefined;
    if (!row) throw new NotFound(`no User with id "${id}"`);
    return row;
  }

  async function write(trx: Db, tenantId: string, row: Row, document: Document, related: boolean): Promise<Stored> {
    checkDocument(USER_TYPE, document);
    const columns = columnsOf(document);
    if (sameJson(document, documentOf(row))) return (await withGroups(trx, tenantId, [row], related))[0];
    const stamp = now();
    const active = document.active === undefined ? row.active : document.active === false ? 0 : 1;
    try {
      await table.update(trx, tenantId, row.id, {
        ...columns,
        active,
        attributes: JSON.stringify(document),
        version: row.version + 1,
        updated_at: stamp,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw taken(document.userName);
      throw error;
    }
    const next: Row = { ...row, user_name: columns.user_name, active, attributes: document, version: row.version + 1, updated_at: stamp };
    return (await withGroups(trx, tenantId, [next], related))[0];
  }

  return {
    type: USER_TYPE,

    async create(tenantId, body, related) {
      const document = readResource(USER_TYPE, body);
      checkDocument(USER_TYPE, document);
      const columns = columnsOf(document);
      const stamp = now();
      const row = {
        id: randomUUID(),
        tenant_id: tenantId,
        ...columns,
        active: document.active === false ? 0 : 1,
        role: 'member' as const,
        password_hash: null,
        attributes: JSON.stringify(document),
        version: 1,
        created_at: stamp,
        updated_at: stamp,
      };
      try {
        await table.insert(db, row);
      } catch (error) {
        if (isUniqueViolation(error)) throw taken(columns.user_name);
        throw error;
      }
      return storedOf({ ...row, attributes: document }, related ? [] : undefined);
    },

    async find(tenantId, id, related) {
      const row = (await table.find(db, tenantId, id)) as Row | undefined;
      return row ? (await withGroups(db, tenantId, [row], related))[0] : undefined;
    },

    async list(tenantId, page, related) {
      const { total, rows } = await table.list(db, tenantId, page);
      return { total, resources: await withGroups(db, tenantId, rows as unknown as Row[], related) };
    },

    async replace(tenantId, id, body, precondition, related) {
      if (isObject(body) && body.id !== undefined && body.id !== id)
        throw new Mutability(`id is immutable: the body says "${String(body.id)}", the URL "${id}"`);
      const incoming = readResource(USER_TYPE, body);
      return db.transaction().execute(async (trx) => {
        const row = await lockRow(trx, tenantId, id);
        checkPrecondition(precondition, row.version);
        // A PUT without "active" keeps the user's state: leaving it out must not re-enable a disabled user.
        const document = incoming.active === undefined ? { ...incoming, active: row.active === 1 } : incoming;
        return write(trx, tenantId, row, document, related);
      });
    },

    async modify(tenantId, id, operations, precondition, related) {
      return db.transaction().execute(async (trx) => {
        const row = await lockRow(trx, tenantId, id);
        checkPrecondition(precondition, row.version);
        const document = structuredClone(documentOf(row));
        for (const operation of operations) applyOperation(USER_TYPE, document, operation);
        return write(trx, tenantId, row, document, related);
      });
    },

    async remove(tenantId, id, precondition) {
      await db.transaction().execute(async (trx) => {
        const row = await lockRow(trx, tenantId, id);
        checkPrecondition(precondition, row.version);
        // The user's groups change too: their version moves, so an ETag held on one no longer matches.
        await touchGroupsOf.execute(trx, { tenantId, id, stamp: now() });
        // Memberships go with the row (ON DELETE CASCADE); so do the tokens this user allowed, whose check needs the row.
        await deleteUser.execute(trx, { tenantId, id });
      });
    },
  };
}
