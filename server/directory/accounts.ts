import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Database, now } from '../store/index.ts';
import { prepare } from '../store/prepared.ts';
import { InvalidName, NotAManager, UnknownUser } from './errors.ts';
import { checkPasswordStrength, hashPassword } from './passwords.ts';
import { getTenant, type Tenant } from './tenants.ts';

type Db = Kysely<Database>;

/** A user of a tenant's directory as the sign-in flow and the CLI see it. */
export interface Account {
  id: string;
  tenantId: string;
  userName: string;
  role: 'member' | 'manager';
  /** May sign in and allow access: active in the directory (SCIM's `active`) and not disabled by the operator. */
  active: boolean;
  /** `securelogin manager disable`: stays in force whatever SCIM sets `active` to. */
  disabledByOperator: boolean;
  hasPassword: boolean;
}

type UserRow = {
  id: string;
  tenant_id: string;
  user_name: string;
  role: 'member' | 'manager';
  active: number;
  sign_in_disabled: number;
  password_hash: string | null;
};

export function toAccount(row: UserRow): Account {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userName: row.user_name,
    role: row.role,
    active: row.active === 1 && row.sign_in_disabled === 0,
    disabledByOperator: row.sign_in_disabled === 1,
    hasPassword: row.password_hash !== null,
  };
}

function checkUserName(userName: string): string {
  const trimmed = userName.trim();
  if (trimmed === '') throw new InvalidName('the username', 'must not be empty');
  if (trimmed.length > 256) throw new InvalidName('the username', 'must be at most 256 characters');
  if (/[\p{Cc}]/u.test(trimmed)) throw new InvalidName('the username', 'must not contain control characters');
  return trimmed;
}

/** Finds a user by userName, case-insensitively, within one tenant. Returns the row with its password hash. */
export async function findUserForSignIn(db: Db, tenantId: string, userName: string) {
  return db
    .selectFrom('users')
    .select(['id', 'tenant_id', 'user_name', 'role', 'active', 'sign_in_disabled', 'password_hash'])
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb(eb.fn('lower', ['user_name']), '=', userName.trim().toLowerCase()))
    .executeTakeFirst();
}

export async function findAccountById(db: Db, tenantId: string, id: string): Promise<Account | undefined> {
  const row = await accountById.first(db, { tenantId, id });
  return row ? toAccount(row) : undefined;
}

// Read at every code exchange and refresh: compiled once (prepared.ts).
const accountById = prepare((db: Db, v: { tenantId: string; id: string }) =>
  db
    .selectFrom('users')
    .select(['id', 'tenant_id', 'user_name', 'role', 'active', 'sign_in_disabled', 'password_hash'])
    .where('tenant_id', '=', v.tenantId)
    .where('id', '=', v.id),
);

/**
 * Makes `userName` a manager of the tenant with this password. An existing
 * user (say one Entra provisioned) keeps its record and attributes and gains
 * the role and password; otherwise a local account is created.
 */
export async function addManager(
  db: Db,
  domain: string,
  userNameInput: string,
  password: string,
): Promise<{ tenant: Tenant; account: Account; created: boolean }> {
  const tenant = await getTenant(db, domain);
  const userName = checkUserName(userNameInput);
  checkPasswordStrength(password, userName);
  const passwordHash = await hashPassword(password);
  const existing = await findUserForSignIn(db, tenant.id, userName);
  const stamp = now();
  if (existing) {
    await db
      .updateTable('users')
      .set((eb) => ({ role: 'manager', password_hash: passwordHash, updated_at: stamp, version: eb('version', '+', 1) }))
      .where('id', '=', existing.id)
      .execute();
    return { tenant, account: toAccount({ ...existing, role: 'manager', password_hash: passwordHash }), created: false };
  }
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({
      id,
      tenant_id: tenant.id,
      user_name: userName,
      external_id: null,
      work_email: null,
      display_name: null,
      active: 1,
      role: 'manager',
      password_hash: passwordHash,
      attributes: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName }),
      created_at: stamp,
      updated_at: stamp,
    })
    .execute();
  const account = toAccount({
    id,
    tenant_id: tenant.id,
    user_name: userName,
    role: 'manager',
    active: 1,
    sign_in_disabled: 0,
    password_hash: passwordHash,
  });
  return { tenant, account, created: true };
}

async function getAccount(db: Db, domain: string, userName: string): Promise<{ tenant: Tenant; row: UserRow }> {
  const tenant = await getTenant(db, domain);
  const row = await findUserForSignIn(db, tenant.id, userName);
  if (!row) throw new UnknownUser(userName, tenant.domains[0]);
  return { tenant, row };
}

export async function setPassword(db: Db, domain: string, userName: string, password: string): Promise<Account> {
  const { row } = await getAccount(db, domain, userName);
  checkPasswordStrength(password, row.user_name);
  const passwordHash = await hashPassword(password);
  await db
    .updateTable('users')
    .set((eb) => ({ password_hash: passwordHash, updated_at: now(), version: eb('version', '+', 1) }))
    .where('id', '=', row.id)
    .execute();
  return toAccount({ ...row, password_hash: passwordHash });
}

/**
 * Disables the account: it can no longer sign in, and tokens it allowed stop
 * working. This is the operator's block, kept apart from SCIM's `active`, which
 * Entra owns and would set back to true on its next cycle.
 */
export async function disableAccount(db: Db, domain: string, userName: string): Promise<Account> {
  const { row } = await getAccount(db, domain, userName);
  await db.updateTable('users').set({ sign_in_disabled: 1, updated_at: now() }).where('id', '=', row.id).execute();
  return toAccount({ ...row, sign_in_disabled: 1 });
}

export async function findAccount(db: Db, domain: string, userName: string): Promise<{ tenant: Tenant; account: Account }> {
  const { tenant, row } = await getAccount(db, domain, userName);
  return { tenant, account: toAccount(row) };
}

/** Like findAccount, but the user must hold the manager role (the CLI's manager commands act on managers only). */
export async function findManager(db: Db, domain: string, userName: string): Promise<{ tenant: Tenant; account: Account }> {
  const found = await findAccount(db, domain, userName);
  if (found.account.role !== 'manager') throw new NotAManager(found.account.userName, found.tenant.domains[0]);
  return found;
}

/** Lifts the operator's block: the account may sign in again unless the directory has it inactive (tokens revoked meanwhile stay revoked). */
export async function enableAccount(db: Db, domain: string, userName: string): Promise<Account> {
  const { row } = await getAccount(db, domain, userName);
  await db.updateTable('users').set({ sign_in_disabled: 0, updated_at: now() }).where('id', '=', row.id).execute();
  return toAccount({ ...row, sign_in_disabled: 0 });
}

/** The tenant's managers, active or not, ordered by userName. */
export async function listManagers(db: Db, tenantId: string): Promise<Account[]> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'tenant_id', 'user_name', 'role', 'active', 'sign_in_disabled', 'password_hash'])
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'manager')
    .orderBy((eb) => eb.fn('lower', ['user_name']))
    .execute();
  return rows.map(toAccount);
}

/** How many users (provisioned and local) the tenant's directory holds. */
export async function countUsers(db: Db, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
