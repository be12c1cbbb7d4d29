import { randomUUID } from 'node:crypto';
import type { Store } from '../server/store/index.ts';
import { readJson } from '../server/store/index.ts';
import { createGroupBody, createUserBody } from './entra.ts';

/*
 * Large tenants go straight into the store, through the app's own store
 * module, in multi-row INSERTs: a million SCIM POSTs would take hours and
 * measure the seeding, not the reads. The rows are what server/scim's
 * repositories write for Entra's create bodies (attributes as SCIM keeps
 * them, userName, externalId and the work email in their columns);
 * `checkFidelity` compares them with a user and a group created over SCIM in
 * the same run, so a drift between the two is caught, not benchmarked.
 */

const ROWS_PER_INSERT = 1_000;
const ROWS_PER_TRANSACTION = 50_000;

/** What SCIM stores of a create body: the body without meta, read-only parts and empty lists (RFC 7643 §2.5: unassigned). */
export function storedDocument(body: Record<string, unknown>): Record<string, unknown> {
  const document: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'meta' || key === 'id') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    document[key] = value;
  }
  return document;
}

function userRow(tenantId: string, label: string, i: number, stamp: string) {
  const body = createUserBody(label, i);
  const work = (body.emails as { type: string; value: string }[]).find((e) => e.type === 'work');
  return {
    id: randomUUID(),
    tenant_id: tenantId,
    user_name: body.userName as string,
    external_id: body.externalId as string,
    work_email: work?.value ?? null,
    display_name: null,
    active: 1,
    role: 'member' as const,
    password_hash: null,
    attributes: JSON.stringify(storedDocument(body)),
    version: 1,
    created_at: stamp,
    updated_at: stamp,
  };
}

export interface Seeded {
  /** The users' ids in seeding order, when asked for. */
  ids: string[];
  rows: number;
  ms: number;
}

/**
 * Users 0..count-1 of population `label` in one tenant. Creation times are
 * a millisecond apart, in order, as a steady stream of SCIM creates would
 * leave them.
 */
export async function seedUsers(
  store: Store,
  options: { tenantId: string; label: string; count: number; keepIds?: boolean; progress?: (done: number) => void },
): Promise<Seeded> {
  const started = performance.now();
  const ids: string[] = [];
  const base = Date.now() - options.count;
  for (let from = 0; from < options.count; from += ROWS_PER_TRANSACTION) {
    const to = Math.min(options.count, from + ROWS_PER_TRANSACTION);
    await store.db.transaction().execute(async (trx) => {
      for (let start = from; start < to; start += ROWS_PER_INSERT) {
        const rows = [];
        for (let i = start; i < Math.min(to, start + ROWS_PER_INSERT); i++) {
          rows.push(userRow(options.tenantId, options.label, i, new Date(base + i).toISOString()));
        }
        await trx.insertInto('users').values(rows).execute();
        if (options.keepIds) for (const row of rows) ids.push(row.id);
      }
    });
    options.progress?.(to);
  }
  return { ids, rows: options.count, ms: performance.now() - started };
}

/** A group as SCIM's POST /Groups stores it, and its members as one membership row each. */
export async function seedGroup(
  store: Store,
  options: { tenantId: string; label: string; index: number; memberIds: string[] },
): Promise<{ id: string; ms: number }> {
  const started = performance.now();
  const body = createGroupBody(options.label, options.index);
  const stamp = new Date().toISOString();
  const id = randomUUID();
  await store.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('groups')
      .values({
        id,
        tenant_id: options.tenantId,
        display_name: body.displayName as string,
        external_id: body.externalId as string,
        attributes: JSON.stringify(storedDocument(body)),
        version: 1,
        created_at: stamp,
        updated_at: stamp,
      })
      .execute();
    for (let start = 0; start < options.memberIds.length; start += ROWS_PER_INSERT * 4) {
      const slice = options.memberIds.slice(start, start + ROWS_PER_INSERT * 4);
      await trx
        .insertInto('memberships')
        .values(slice.map((userId) => ({ group_id: id, user_id: userId, tenant_id: options.tenantId, created_at: stamp })))
        .execute();
    }
  });
  return { id, ms: performance.now() - started };
}

/**
 * The differences between what SCIM stored for Entra's create bodies (user
 * `label`/0 and group `label`/0, posted over HTTP by the caller) and what the
 * seeder writes for the same bodies; empty when they agree.
 */
export async function checkFidelity(store: Store, tenantId: string, label: string): Promise<string[]> {
  const differences: string[] = [];
  const expectedUser = userRow(tenantId, label, 0, '');
  const user = await store.db
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('user_name', '=', expectedUser.user_name)
    .executeTakeFirst();
  if (!user) return [`no user ${expectedUser.user_name} created over SCIM`];
  for (const column of ['user_name', 'external_id', 'work_email', 'display_name', 'active', 'role', 'password_hash', 'version'] as const) {
    if (user[column] !== expectedUser[column]) differences.push(`users.${column}: SCIM ${user[column]}, seeded ${expectedUser[column]}`);
  }
  if (!sameJson(readJson(user.attributes), JSON.parse(expectedUser.attributes))) {
    differences.push(`users.attributes: SCIM ${JSON.stringify(readJson(user.attributes))}, seeded ${expectedUser.attributes}`);
  }

  const groupBody = createGroupBody(label, 0);
  const group = await store.db
    .selectFrom('groups')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('display_name', '=', groupBody.displayName as string)
    .executeTakeFirst();
  if (!group) return [...differences, `no group ${groupBody.displayName} created over SCIM`];
  if (group.external_id !== groupBody.externalId) differences.push(`groups.external_id: SCIM ${group.external_id}`);
  const expectedGroup = storedDocument(groupBody);
  if (!sameJson(readJson(group.attributes), expectedGroup)) {
    differences.push(`groups.attributes: SCIM ${JSON.stringify(readJson(group.attributes))}, seeded ${JSON.stringify(expectedGroup)}`);
  }
  return differences;
}

/** Deep equality ignoring key order: PostgreSQL's jsonb does not keep it. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = Object.keys(x);
    return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && sameJson(x[k], y[k]));
  }
  return false;
}
