import type { Kysely } from 'kysely';
import { type Database, now } from '../store/index.ts';

/** The console's client id at our own provider: fixed, so every instance and restart agrees. */
export const CONSOLE_CLIENT_ID = 'securelogin-console';

export function consoleRedirectUri(publicUrl: URL): string {
  return `${publicUrl.origin}/console/callback`;
}

/**
 * The console as a first-party OpenID client of our own provider: a public
 * app (PKCE, no secret), serving every tenant, redirecting to
 * {PUBLIC_URL}/console/callback. Made (or corrected, when PUBLIC_URL
 * changed) at start, not by the operator.
 */
export async function ensureConsoleClient(db: Kysely<Database>, publicUrl: URL): Promise<void> {
  const redirectUris = JSON.stringify([consoleRedirectUri(publicUrl)]);
  const stamp = now();
  await db
    .insertInto('clients')
    .values({
      id: CONSOLE_CLIENT_ID,
      tenant_id: null,
      name: 'SecureLogin console',
      redirect_uris: redirectUris,
      created_at: stamp,
      secret_rotated_at: stamp,
      kind: 'app',
      is_public: 1,
    })
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet({ redirect_uris: redirectUris, kind: 'app', is_public: 1, tenant_id: null, grant_type: 'authorization_code' }),
    )
    .execute();
}
