import type { Kysely } from 'kysely';
import { type Database, isUniqueViolation, now } from '../store/index.ts';
import type { EntraPerson, SsoRefusal } from './types.ts';

type Db = Kysely<Database>;

export type LinkResult = { ok: true; userId: string; firstLink: boolean } | { ok: false; refusal: SsoRefusal; userId?: string };

const USER_COLUMNS = ['users.id', 'users.active', 'users.sign_in_disabled'] as const;

/**
 * The tenant's user this Entra account signs in as. A stored link (tid, oid)
 * decides alone. Without one, the first sign-in looks for the user whose
 * externalId is the oid, else whose userName is the UPN (case-insensitive):
 * exactly one, not linked to another account already, or refused. Never by
 * e-mail, and no user is ever created here: Entra provisions them.
 */
export async function linkedUser(db: Db, tenantId: string, person: EntraPerson): Promise<LinkResult> {
  const linked = await db
    .selectFrom('sso_links')
    .innerJoin('users', 'users.id', 'sso_links.user_id')
    .select(USER_COLUMNS)
    .where('sso_links.tenant_id', '=', tenantId)
    .where('sso_links.tid', '=', person.tid)
    .where('sso_links.oid', '=', person.oid)
    .executeTakeFirst();
  if (linked) return standing(linked, false);

  const byExternalId = await db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where('tenant_id', '=', tenantId)
    .where('external_id', '=', person.oid)
    .limit(2)
    .execute();
  if (byExternalId.length > 1) return { ok: false, refusal: 'ambiguous' };
  let found: (typeof byExternalId)[number] | undefined = byExternalId[0];
  if (!found && person.preferredUsername) {
    found = await db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb(eb.fn('lower', ['user_name']), '=', person.preferredUsername!.trim().toLowerCase()))
      .executeTakeFirst();
  }
  if (!found) return { ok: false, refusal: 'not_provisioned' };

  // Checked before linking: a disabled user gets no link to come back with later.
  const checked = standing(found, true);
  if (!checked.ok) return checked;
  try {
    await db
      .insertInto('sso_links')
      .values({ tenant_id: tenantId, tid: person.tid, oid: person.oid, user_id: found.id, created_at: now() })
      .execute();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // The same person's first sign-in in another tab won the race: fine.
    const raced = await db
      .selectFrom('sso_links')
      .select('user_id')
      .where('tenant_id', '=', tenantId)
      .where('tid', '=', person.tid)
      .where('oid', '=', person.oid)
      .executeTakeFirst();
    if (raced?.user_id === found.id) return { ok: true, userId: found.id, firstLink: false };
    // The user is linked to another Entra account already (say, the one
    // that held this UPN before): a new account never inherits it.
    return { ok: false, refusal: 'ambiguous', userId: found.id };
  }
  return checked;
}

function standing(user: { id: string; active: number; sign_in_disabled: number }, firstLink: boolean): LinkResult {
  if (user.active !== 1 || user.sign_in_disabled === 1) return { ok: false, refusal: 'disabled_user', userId: user.id };
  return { ok: true, userId: user.id, firstLink };
}
