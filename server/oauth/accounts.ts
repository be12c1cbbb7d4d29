import type { Kysely } from 'kysely';
import { type Account, findAccountById, findTenantById, type Tenant } from '../directory/index.ts';
import type { Database } from '../store/index.ts';

// The provider's accountId names the tenant as well as the user, so every
// artifact of a grant (code, tokens, the grant itself) says which tenant it
// belongs to without another lookup, and a user id can never be read in the
// wrong tenant.
export function accountIdFor(tenantId: string, userId: string): string {
  return `${tenantId}:${userId}`;
}

export function parseAccountId(accountId: unknown): { tenantId: string; userId: string } | undefined {
  if (typeof accountId !== 'string') return undefined;
  const parts = accountId.split(':');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return { tenantId: parts[0], userId: parts[1] };
}

/**
 * Why an account may or may not allow access now. Checked at consent, at every
 * code exchange and refresh, so a manager disabled (by SCIM or the CLI), a
 * demoted manager or a disabled tenant stops a grant at once.
 */
export type Standing =
  | { kind: 'manager'; tenant: Tenant; account: Account }
  | { kind: 'not_a_manager'; tenant: Tenant; account: Account }
  | { kind: 'disabled_user'; tenant: Tenant; account: Account }
  | { kind: 'disabled_tenant'; tenant: Tenant }
  | { kind: 'unknown' };

export async function standingOf(db: Kysely<Database>, accountId: unknown): Promise<Standing> {
  const parsed = parseAccountId(accountId);
  if (!parsed) return { kind: 'unknown' };
  const tenant = await findTenantById(db, parsed.tenantId);
  if (!tenant) return { kind: 'unknown' };
  if (tenant.disabled) return { kind: 'disabled_tenant', tenant };
  const account = await findAccountById(db, tenant.id, parsed.userId);
  if (!account) return { kind: 'unknown' };
  if (!account.active) return { kind: 'disabled_user', tenant, account };
  if (account.role !== 'manager') return { kind: 'not_a_manager', tenant, account };
  return { kind: 'manager', tenant, account };
}
