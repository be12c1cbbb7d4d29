import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';

type Db = Kysely<Database>;

/** How long a person may spend at Microsoft before the sign-in must start again. */
export const PENDING_TTL_MS = 10 * 60_000;

export interface Pending {
  state: string;
  interactionUid: string;
  tenantId: string;
  domain: string;
  nonce: string;
  codeVerifier: string;
}

export async function savePending(db: Db, pending: Pending): Promise<void> {
  const at = Date.now();
  // Sign-ins that never came back are swept as new ones start; the table stays small.
  await db.deleteFrom('sso_pending').where('expires_at', '<', at).execute();
  await db
    .insertInto('sso_pending')
    .values({
      state: pending.state,
      interaction_uid: pending.interactionUid,
      tenant_id: pending.tenantId,
      domain: pending.domain,
      nonce: pending.nonce,
      code_verifier: pending.codeVerifier,
      expires_at: at + PENDING_TTL_MS,
    })
    .execute();
}

/** The interaction a state belongs to, without using it up: the callback only routes the browser back to it. */
export async function interactionOfState(db: Db, state: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('sso_pending')
    .select('interaction_uid')
    .where('state', '=', state)
    .where('expires_at', '>=', Date.now())
    .executeTakeFirst();
  return row?.interaction_uid;
}

/**
 * Takes the pending sign-in for this state and interaction, once: the row is
 * deleted in the same statement that reads it, so a replayed state finds nothing.
 */
export async function takePending(db: Db, state: string, interactionUid: string): Promise<Pending | undefined> {
  const row = await db
    .deleteFrom('sso_pending')
    .where('state', '=', state)
    .where('interaction_uid', '=', interactionUid)
    .returningAll()
    .executeTakeFirst();
  if (!row || row.expires_at < Date.now()) return undefined;
  return {
    state: row.state,
    interactionUid: row.interaction_uid,
    tenantId: row.tenant_id,
    domain: row.domain,
    nonce: row.nonce,
    codeVerifier: row.code_verifier,
  };
}
