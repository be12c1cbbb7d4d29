import type { Kysely } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { APP_SCOPES } from '../apps/index.ts';
import { type ClientKind, findClient } from '../directory/index.ts';
import { SessionsUnavailable } from '../sessions/index.ts';
import { type Database, isStoreUnavailable } from '../store/index.ts';

/**
 * A directory read made on the provider's behalf. The provider answers an
 * error it does not know with 500 server_error; a directory that does not
 * answer must be 503 temporarily_unavailable, as a session store outage is,
 * so that clients retry instead of giving up.
 */
export async function fromDirectory<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isStoreUnavailable(error)) throw new SessionsUnavailable(error);
    throw error;
  }
}

/** Client metadata of our own (oidc-provider's extraClientMetadata): what kind of client, bound to which tenant. */
export const CLIENT_KIND = 'securelogin_kind';
export const CLIENT_TENANT = 'securelogin_tenant';

/** The kind and tenant of a provider Client built from directoryClients' metadata. */
export function clientFacts(client: unknown): { kind: ClientKind; tenantId: string | null } {
  const record = (client ?? {}) as Record<string, unknown>;
  const tenant = record[CLIENT_TENANT];
  return { kind: record[CLIENT_KIND] === 'app' ? 'app' : 'provisioning', tenantId: typeof tenant === 'string' ? tenant : null };
}

/**
 * The provider's 'Client' model, read from the directory on every lookup: a
 * client removed or a secret rotated by the CLI takes effect at once on every
 * instance. The provider keeps no client of its own beyond the request (its
 * cache is keyed by the metadata, so changed metadata is a different entry).
 *
 * `client_secret` holds the SHA-256 of the secret, never the secret; the
 * Client model's compareClientSecret is replaced to compare against it (see
 * provider.ts).
 */
export function directoryClients(db: Kysely<Database>): Adapter {
  const readOnly = async () => {
    throw new Error('clients are registered with the securelogin command, not through the provider');
  };
  return {
    async find(id: string): Promise<AdapterPayload | undefined> {
      const client = await fromDirectory(() => findClient(db, id));
      if (!client) return undefined;
      const payload: AdapterPayload = {
        client_id: client.id,
        client_name: client.name,
        redirect_uris: client.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        [CLIENT_KIND]: client.kind,
        ...(client.tenantId === null ? {} : { [CLIENT_TENANT]: client.tenantId }),
      };
      if (client.kind === 'app') payload.scope = APP_SCOPES.join(' ');
      if (client.isPublic) return { ...payload, token_endpoint_auth_method: 'none' };
      // Registering basic accepts client_secret_post as well (client_auth.js).
      return { ...payload, client_secret: client.secretHash, token_endpoint_auth_method: 'client_secret_basic' };
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
