import type { Kysely } from 'kysely';
import { findTenantById } from '../directory/index.ts';
import { type Database, readJson } from '../store/index.ts';
import { DOMAIN_CLAIM } from './scopes.ts';

export interface AppClaims {
  sub: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  email?: string;
  preferred_username: string;
  [DOMAIN_CLAIM]: string;
}

interface NameAttribute {
  givenName?: unknown;
  familyName?: unknown;
  formatted?: unknown;
}

/**
 * The user's claims as the directory holds them now (SCIM keeps them in sync
 * with Entra). `sub` is the provider's account id, tenant and user id, which
 * never changes: a renamed userName or e-mail is the same subject.
 * Undefined when the user or tenant is gone.
 */
export async function appClaims(db: Kysely<Database>, sub: string, tenantId: string, userId: string): Promise<AppClaims | undefined> {
  const [row, tenant] = await Promise.all([
    db
      .selectFrom('users')
      .select(['user_name', 'work_email', 'display_name', 'attributes'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', userId)
      .executeTakeFirst(),
    findTenantById(db, tenantId),
  ]);
  if (!row || !tenant || tenant.domains.length === 0) return undefined;
  const attributes = readJson<{ name?: NameAttribute } | null>(row.attributes) ?? {};
  const name = attributes.name ?? {};
  const given = text(name.givenName);
  const family = text(name.familyName);
  const full = text(row.display_name) ?? text(name.formatted) ?? ([given, family].filter(Boolean).join(' ') || undefined);
  return {
    sub,
    name: full,
    given_name: given,
    family_name: family,
    email: text(row.work_email),
    preferred_username: row.user_name,
    [DOMAIN_CLAIM]: tenant.domains[0],
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
