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
/** Seconds a client credentials access token of this client lasts. */
export const CLIENT_TOKEN_LIFETIME = 'securelogin_token_lifetime';

/**
 * What `client_secret` holds when none of the client's secrets works any
 * more (all expired): the provider requires the property of a client that
 * authenticates with a secret, and this value matches nothing.
 */
const NO_USABLE_SECRET = 'expired';

/** The kind, tenant and token lifetime of a provider Client built from directoryClients' metadata. */
export function clientFacts(client: unknown): { kind: ClientKind; tenantId: string | null; tokenLifetime: number | undefined } {
  const record = (client ?? {}) as Record<string, unknown>;
  const tenant = record[CLIENT_TENANT];
  const lifetime = record[CLIENT_TOKEN_LIFETIME];
  return {
    kind: record[CLIENT_KIND] === 'app' ? 'app' : 'provisioning',
    tenantId: typeof tenant === 'string' ? tenant : null,
    tokenLifetime: typeof lifetime === 'number' ? lifetime : undefined,
  };
}

/** The SHA-256 hashes held in a provider Client's `client_secret` (see directoryClients). */
export function secretHashesOf(clientSecret: unknown): string[] {
  return typeof clientSecret === 'string' ? clientSecret.split(' ').filter((hash) => /^[0-9a-f]{64}$/.test(hash)) : [];
}

/**
 * The provider's 'Client' model, read from the directory on every lookup: a
 * client removed or a secret rotated by the CLI takes effect at once on every
 * instance. The provider keeps no client of its own beyond the request (its
 * cache is keyed by the metadata, so changed metadata is a different entry).
 *
 * `client_secret` holds the SHA-256 of each secret that works now (space
 * separated: after a rotation, the new one and the old one until its overlap
 * ends), never a secret; the Client model's compareClientSecret is replaced
 * to compare against them (see provider.ts). An expired secret drops out of
 * the metadata on the first request after it expires.
 */
export function directoryClients(db: Kysely<Database>): Adapter {
  const readOnly = async () => {
    throw new Error('clients are registered with the securelogin command, not through the provider');
  };
  return {
    async find(id: string): Promise<AdapterPayload | undefined> {
      const client = await fromDirectory(() => findClient(db, id));
      if (!client) return undefined;
      const credentials = client.grant === 'client_credentials';
      const payload: AdapterPayload = {
        client_id: client.id,
        client_name: client.name,
        redirect_uris: client.redirectUris,
        grant_types: credentials ? ['client_credentials'] : ['authorization_code', 'refresh_token'],
        response_types: credentials ? [] : ['code'],
        [CLIENT_KIND]: client.kind,
        ...(client.tenantId === null ? {} : { [CLIENT_TENANT]: client.tenantId }),
        ...(client.tokenLifetime === null ? {} : { [CLIENT_TOKEN_LIFETIME]: client.tokenLifetime }),
      };
      if (client.kind === 'app') payload.scope = APP_SCOPES.join(' ');
      if (client.isPublic) return { ...payload, token_endpoint_auth_method: 'none' };
      // Registering basic accepts client_secret_post as well (client_auth.js).
      const clientSecret = client.secretHashes.join(' ') || NO_USABLE_SECRET;
      return { ...payload, client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' };
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
