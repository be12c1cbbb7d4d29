import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Database, isStorableText, now, readJson } from '../store/index.ts';
import { prepare } from '../store/prepared.ts';
import { InvalidClient, InvalidName, InvalidRedirectUri, UnknownClient } from './errors.ts';
import { getTenant } from './tenants.ts';

type Db = Kysely<Database>;

export const ENTRA_REDIRECT_URI = 'https://portal.azure.com/TokenAuthorize';

/** 'provisioning': Entra's Authorize flow (scope scim, managers only); 'app': a SecureLogin app signing users in with OpenID Connect. */
export type ClientKind = 'provisioning' | 'app';

export interface Client {
  id: string;
  /** null: any tenant, chosen on the Go to domain page. */
  tenantId: string | null;
  name: string;
  kind: ClientKind;
  /** An app that cannot keep a secret (a browser or desktop app): no secret, PKCE required. */
  isPublic: boolean;
  redirectUris: string[];
  createdAt: string;
  secretRotatedAt: string;
}

/** Returned once, when a client is created or its secret rotated; the secret is never stored. */
export interface IssuedSecret {
  client: Client;
  clientSecret: string;
}

/** A new client; a public app has no secret to show. */
export interface AddedClient {
  client: Client;
  clientSecret: string | undefined;
}

// Secrets are 256 random bits, so a single SHA-256 is enough to keep them
// unusable if the store leaks; a slow password hash would only slow the token
// endpoint, which Entra calls every cycle.
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function checkRedirectUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidRedirectUri(uri, 'it is not an absolute URL');
  }
  if (url.hash) throw new InvalidRedirectUri(uri, 'it must not have a fragment');
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new InvalidRedirectUri(uri, 'it must use https (http only for localhost)');
  }
  return uri;
}

type ClientRow = {
  id: string;
  tenant_id: string | null;
  name: string;
  redirect_uris: unknown;
  created_at: string;
  secret_rotated_at: string;
  secret_hash: string;
  kind: ClientKind;
  is_public: number;
};

function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    kind: row.kind,
    isPublic: row.is_public === 1,
    redirectUris: readJson<string[]>(row.redirect_uris),
    createdAt: row.created_at,
    secretRotatedAt: row.secret_rotated_at,
  };
}

/** Registers an Entra provisioning client; the redirect URI defaults to Entra's. */
export async function addClient(
  db: Db,
  options: { tenantDomain: string | null; name?: string; redirectUris?: string[] },
): Promise<IssuedSecret> {
  const redirectUris = options.redirectUris?.length ? options.redirectUris : [ENTRA_REDIRECT_URI];
  const added = await insertClient(db, { ...options, name: options.name ?? 'Microsoft Entra ID', redirectUris, kind: 'provisioning' });
  return { client: added.client, clientSecret: added.clientSecret! };
}

/**
 * Registers one of SecureLogin's own apps as an OpenID Connect client. It
 * names its own redirect URIs; a public app (one that cannot keep a secret)
 * gets none and must use PKCE.
 */
export async function addAppClient(
  db: Db,
  options: { tenantDomain: string | null; name?: string; redirectUris: string[]; isPublic?: boolean },
): Promise<AddedClient> {
  if (!options.redirectUris.length) throw new InvalidClient('an app client needs at least one redirect URI (--redirect-uri)');
  return insertClient(db, { ...options, name: options.name ?? 'SecureLogin', kind: 'app' });
}

async function insertClient(
  db: Db,
  options: { tenantDomain: string | null; name: string; redirectUris: string[]; kind: ClientKind; isPublic?: boolean },
): Promise<AddedClient> {
  const tenantId = options.tenantDomain === null ? null : (await getTenant(db, options.tenantDomain)).id;
  const name = options.name.trim();
  if (name === '' || name.length > 200) throw new InvalidName('the client name', 'must be 1 to 200 characters');
  const redirectUris = [...new Set(options.redirectUris.map(checkRedirectUri))];
  const clientSecret = options.isPublic ? undefined : newSecret();
  const stamp = now();
  const row = {
    id: randomUUID(),
    tenant_id: tenantId,
    name,
    kind: options.kind,
    is_public: options.isPublic ? 1 : 0,
    // A public client's empty hash never matches a presented secret (secretMatches).
    secret_hash: clientSecret === undefined ? '' : hashSecret(clientSecret),
    redirect_uris: JSON.stringify(redirectUris),
    created_at: stamp,
    secret_rotated_at: stamp,
  };
  await db.insertInto('clients').values(row).execute();
  return { client: toClient(row), clientSecret };
}

export async function listClients(db: Db): Promise<(Client & { tenantDomain: string | null })[]> {
  const rows = await db
    .selectFrom('clients')
    .leftJoin('domains', (join) => join.onRef('domains.tenant_id', '=', 'clients.tenant_id').on('domains.is_primary', '=', 1))
    .selectAll('clients')
    .select('domains.domain as tenant_domain')
    .orderBy('clients.created_at')
    .orderBy('clients.id')
    .execute();
  return rows.map((row) => ({ ...toClient(row), tenantDomain: row.tenant_domain ?? null }));
}

export async function findClient(db: Db, id: string): Promise<(Client & { secretHash: string }) | undefined> {
  // Client ids are UUIDs; one that no store can even compare with (PostgreSQL fails on it) names no client.
  if (!isStorableText(id)) return undefined;
  const row = await clientById.first(db, { id });
  return row ? { ...toClient(row), secretHash: row.secret_hash } : undefined;
}

// Read by the provider on every token request: compiled once (prepared.ts).
const clientById = prepare((db: Db, v: { id: string }) =>
  db
    .selectFrom('clients')
    .select(['id', 'tenant_id', 'name', 'kind', 'is_public', 'secret_hash', 'redirect_uris', 'created_at', 'secret_rotated_at'])
    .where('id', '=', v.id),
);

export async function rotateClientSecret(db: Db, id: string): Promise<IssuedSecret> {
  const client = await findClient(db, id);
  if (!client) throw new UnknownClient(id);
  if (client.isPublic) throw new InvalidClient(`client ${id} is a public app: it has no secret to rotate`);
  const clientSecret = newSecret();
  const stamp = now();
  await db
    .updateTable('clients')
    .set({ secret_hash: hashSecret(clientSecret), secret_rotated_at: stamp })
    .where('id', '=', id)
    .execute();
  const { secretHash: _, ...rest } = client;
  return { client: { ...rest, secretRotatedAt: stamp }, clientSecret };
}

export async function removeClient(db: Db, id: string): Promise<Client> {
  const client = await findClient(db, id);
  if (!client) throw new UnknownClient(id);
  await db.deleteFrom('clients').where('id', '=', id).execute();
  const { secretHash: _, ...rest } = client;
  return rest;
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(secretHash: string, presented: string): boolean {
  const a = Buffer.from(hashSecret(presented), 'hex');
  const b = Buffer.from(secretHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
