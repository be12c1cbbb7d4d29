import type { Kysely } from 'kysely';
import { type Client, listClients } from '../directory/index.ts';
import type { Database } from '../store/index.ts';
import { listScimTokens, type ScimToken } from './scim-tokens.ts';

export { InvalidTokenLifetime, UnknownScimToken } from './errors.ts';
export {
  addScimToken,
  type IssuedScimToken,
  listScimTokens,
  revokeScimToken,
  SCIM_TOKEN_PREFIX,
  type ScimToken,
  type ScimTokenStanding,
  scimTokenStanding,
} from './scim-tokens.ts';

/** The ways a tenant's Entra connects without a person: what the console's connections page lists beside the Authorize grants. */
export interface TenantCredentials {
  /** Long-lived SCIM tokens (`securelogin token add`), expired ones included. */
  scimTokens: ScimToken[];
  /** Clients of the client credentials grant bound to the tenant (`client add <domain> --grant client_credentials`), with their secrets' expiry. */
  clientCredentialsClients: Client[];
}

export async function tenantCredentials(db: Kysely<Database>, tenantId: string): Promise<TenantCredentials> {
  const [scimTokens, clients] = await Promise.all([listScimTokens(db, tenantId), listClients(db)]);
  const clientCredentialsClients = clients
    .filter((client) => client.tenantId === tenantId && client.grant === 'client_credentials')
    .map(({ tenantDomain: _, ...client }) => client);
  return { scimTokens, clientCredentialsClients };
}
