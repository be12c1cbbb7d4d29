import { sql } from 'kysely';
import { isForeignKeyViolation, now } from '../../store/index.ts';
import { prepare } from '../../store/prepared.ts';
import { InvalidValue, TooMany } from '../protocol/errors.ts';
import { isObject } from '../protocol/resource.ts';
import { type Db, inSlices } from './repository.ts';

/**
 * Group memberships, one row each. Adding or removing a member touches that
 * member's row only, so it costs the same in a group of ten as in a group of
 * 100,000; the member list is read only when a response asks for it.
 */

/** More members than this in one response is refused (tooMany) rather than built in memory. */
export const MAX_MEMBERS_PER_RESPONSE = 100_000;

/**
 * The user ids named by member values ({"value": "<id>"}, or the bare id
 * "<id>" some clients send); groups as members are refused (one level, users only).
 */
export function memberIds(values: unknown, label = 'members'): string[] {
  const list = Array.isArray(values) ? values : [values];
  const ids: string[] = [];
  list.forEach((member, i) => {
    if (member === null || member === undefined) return;
    const value = isObject(member) ? member.value : member;
    if (typeof value !== 'string' || value === '')
      throw new InvalidValue(`${label}[${i}] must be the user's id, or an object with the id as "value"`);
    if (isObject(member) && typeof member.type === 'string' && member.type.toLowerCase() !== 'user') {
      throw new InvalidValue(`${label}[${i}] is a ${member.type}; only users of this tenant can be members`);
    }
    ids.push(value);
  });
  return [...new Set(ids)];
}

// Entra adds and removes one member per request: those statements are
// compiled once (server/store/prepared.ts); lists of ids are built per request.
const userExists = prepare((db: Db, v: { tenantId: string; id: string }) =>
  db.selectFrom('users').select('id').where('tenant_id', '=', v.tenantId).where('id', '=', v.id),
);
const addOne = prepare((db: Db, v: { groupId: string; userId: string; tenantId: string; stamp: string }) =>
  db
    .insertInto('memberships')
    .values({ group_id: v.groupId, user_id: v.userId, tenant_id: v.tenantId, created_at: v.stamp })
    .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing()),
);
const removeOne = prepare((db: Db, v: { groupId: string; tenantId: string; userId: string }) =>
  db.deleteFrom('memberships').where('group_id', '=', v.groupId).where('tenant_id', '=', v.tenantId).where('user_id', '=', v.userId),
);

/** Adds members; every id must be a user of this tenant. Returns how many were not members yet. */
export async function addMembers(db: Db, tenantId: string, groupId: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const found = new Set(
    await inSlices(ids, async (slice) => {
      const rows =
        slice.length === 1
          ? (await userExists.execute(db, { tenantId, id: slice[0] })).rows
          : await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', 'in', slice).execute();
      return rows.map((r) => r.id);
    }),
  );
  const unknown = ids.filter((id) => !found.has(id));
  if (unknown.length > 0) {
    const named = unknown
      .slice(0, 5)
      .map((id) => `"${id}"`)
      .join(', ');
    throw new InvalidValue(
      `members: no user with id ${named}${unknown.length > 5 ? ` (and ${unknown.length - 5} more)` : ''} in this tenant`,
    );
  }
  const stamp = now();
  const added = await inSlices(ids, async (slice) => {
    try {
      if (slice.length === 1) {
        const result = await addOne.execute(db, { groupId, userId: slice[0], tenantId, stamp });
        return [Number(result.numAffectedRows ?? 0)];
      }
      const result = await db
        .insertInto('memberships')
        .values(slice.map((userId) => ({ group_id: groupId, user_id: userId, tenant_id: tenantId, created_at: stamp })))
        .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
        .executeTakeFirst();
      return [Number(result.numInsertedOrUpdatedRows ?? 0)];
    } catch (error) {
      // A user deleted between the check above and this insert (PostgreSQL, concurrent requests).
      if (isForeignKeyViolation(error)) throw new InvalidValue('members: a user named in the request was deleted meanwhile');
      throw error;
    }
  });
  return added.reduce((a, b) => a + b, 0);
}

export async function removeMembers(db: Db, tenantId: string, groupId: string, ids: string[]): Promise<number> {
  const removed = await inSlices(ids, async (slice) => {
    if (slice.length === 1) {
      const result = await removeOne.execute(db, { groupId, tenantId, userId: slice[0] });
      return [Number(result.numAffectedRows ?? 0)];
    }
    const result = await db
      .deleteFrom('memberships')
      .where('group_id', '=', groupId)
      .where('tenant_id', '=', tenantId)
      .where('user_id', 'in', slice)
      .executeTakeFirst();
    return [Number(result.numDeletedRows)];
  });
  return removed.reduce((a, b) => a + b, 0);
}

export async function removeAllMembers(db: Db, tenantId: string, groupId: string): Promise<number> {
  const result = await db.deleteFrom('memberships').where('group_id', '=', groupId).where('tenant_id', '=', tenantId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export interface Member {
  id: string;
  display: string | undefined;
}

function membersQuery(db: Db, tenantId: string) {
  return db
    .selectFrom('memberships as m')
    .select((eb) => [
      'm.group_id',
      'm.user_id',
      eb
        .selectFrom('users as u')
        .select((inner) => inner.fn.coalesce('u.display_name', 'u.user_name').as('display'))
        .whereRef('u.id', '=', 'm.user_id')
        .as('display'),
    ])
    .where('m.tenant_id', '=', tenantId)
    .limit(sql.lit(MAX_MEMBERS_PER_RESPONSE + 1));
}

const membersOfOne = prepare((db: Db, v: { tenantId: string; groupId: string }) =>
  membersQuery(db, v.tenantId).where('m.group_id', '=', v.groupId).orderBy('m.user_id'),
);

/** The members of these groups, each group's in user id order; refuses more than MAX_MEMBERS_PER_RESPONSE in all. */
export async function membersOf(db: Db, tenantId: string, groupIds: string[]): Promise<Map<string, Member[]>> {
  const out = new Map<string, Member[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  // No join and no sort to do: the primary key (group_id, user_id) is the
  // order, and SQLite re-plans joins on every run (BENCHMARKS.md). One
  // group, the common case (every group read), is a query compiled once.
  const rows =
    groupIds.length === 1
      ? (await membersOfOne.execute(db, { tenantId, groupId: groupIds[0] })).rows
      : await membersQuery(db, tenantId).where('m.group_id', 'in', groupIds).orderBy('m.group_id').orderBy('m.user_id').execute();
  if (rows.length > MAX_MEMBERS_PER_RESPONSE) {
    throw new TooMany(
      `more than ${MAX_MEMBERS_PER_RESPONSE} members to return; ask with excludedAttributes=members, or filter with members[value eq "<id>"]`,
    );
  }
  for (const row of rows) out.get(row.group_id)?.push({ id: row.user_id, display: row.display ?? undefined });
  return out;
}

function groupsQuery(db: Db, tenantId: string) {
  return db
    .selectFrom('memberships as m')
    .select((eb) => [
      'm.user_id',
      'm.group_id',
      eb.selectFrom('groups as g').select('g.display_name').whereRef('g.id', '=', 'm.group_id').as('display_name'),
    ])
    .where('m.tenant_id', '=', tenantId);
}

const groupsOfOne = prepare((db: Db, v: { tenantId: string; userId: string }) =>
  groupsQuery(db, v.tenantId).where('m.user_id', '=', v.userId),
);

/** The groups of these users. */
export async function groupsOf(db: Db, tenantId: string, userIds: string[]): Promise<Map<string, Member[]>> {
  const out = new Map<string, Member[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return out;
  // A user is in a few groups: they are ordered here, not by a join and a
  // sort in SQL, which SQLite re-plans on every run (BENCHMARKS.md). One
  // user, the common case (every user read), is a query compiled once.
  const rows =
    userIds.length === 1
      ? (await groupsOfOne.execute(db, { tenantId, userId: userIds[0] })).rows
      : await groupsQuery(db, tenantId).where('m.user_id', 'in', userIds).execute();
  rows.sort((a, b) => byText(a.user_id, b.user_id) || byText(a.display_name ?? '', b.display_name ?? ''));
  for (const row of rows) out.get(row.user_id)?.push({ id: row.group_id, display: row.display_name ?? undefined });
  return out;
}

/** Code-unit order, the same on both engines (their collations differ). */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
