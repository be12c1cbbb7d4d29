import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type ClientGrant, type Database, isStorableText, now, readJson } from '../store/index.ts';
import { prepare } from '../store/prepared.ts';
import { InvalidClient, InvalidName, InvalidRedirectUri, UnknownClient } from './errors.ts';
import { getTenant } from './tenants.ts';

type Db = Kysely<Database>;

export const ENTRA_REDIRECT_URI = 'https://portal.azure.com/TokenAuthorize';

/** 'provisioning': Entra's Authorize flow (scope scim, managers only); 'app': a SecureLogin app signing users in with OpenID Connect. */
export type ClientKind = 'provisioning' | 'app';

/** One of a client's secrets, as the operator sees it (never the secret or its hash). */
export interface ClientSecret {
  id: string;
  createdAt: string;
  /** null: it does not expire. */
  expiresAt: string | null;
}

/** The client credentials grant's access-token lifetime: 60 minutes by default, 60 minutes to 6 hours. */
export const CLIENT_CREDENTIALS_TTL = { default: 3600, min: 3600, max: 6 * 3600 };

/** How long the old secret keeps working after a rotation unless the operator says otherwise. */
export const DEFAULT_KEEP_OLD_SECONDS = 7 * 24 * 3600;

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
  /** authorization_code: Entra's Authorize flow (or an app's sign-in); client_credentials: no user, one tenant. */
  grant: ClientGrant;
  /** Seconds a client credentials access token lasts; null for the other grant. */
  tokenLifetime: number | null;
  /** The secrets that work now, newest first; empty for a public app. */
  secrets: ClientSecret[];
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
  kind: ClientKind;
  is_public: number;
  grant_type: ClientGrant;
  access_token_ttl: number | null;
};

type SecretRow = { id: string; secret_hash: string; created_at: string; expires_at: string | null };

/** The secrets still usable at `at`, newest first. */
function usable<T extends SecretRow>(rows: T[], at: string): T[] {
  return rows.filter((row) => row.expires_at === null || row.expires_at > at).sort((a, b) => b.created_at.localeCompare(a.created_at));
}

function toSecret(row: SecretRow): ClientSecret {
  return { id: row.id, createdAt: row.created_at, expiresAt: row.expires_at };
}

function toClient(row: ClientRow, secrets: SecretRow[]): Client {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    kind: row.kind,
    isPublic: row.is_public === 1,
    redirectUris: readJson<string[]>(row.redirect_uris),
    createdAt: row.created_at,
    secretRotatedAt: row.secret_rotated_at,
    grant: row.grant_type,
    tokenLifetime: row.access_token_ttl,
    secrets: secrets.map(toSecret),
  };
}

/**
 * Registers an Entra provisioning client. With the Authorize flow (the
 * default) the redirect URI defaults to Entra's; with the client credentials
 * grant there is no redirect at all, the client must be bound to one tenant,
 * and its access tokens last `tokenLifetime` seconds (CLIENT_CREDENTIALS_TTL).
 * `secretExpiresIn` (seconds) makes the secret expire; without it, it does not.
 */
export async function addClient(
  db: Db,
  options: {
    tenantDomain: string | null;
    name?: string;
    redirectUris?: string[];
    grant?: ClientGrant;
    tokenLifetime?: number;
    secretExpiresIn?: number;
  },
): Promise<IssuedSecret> {
  const grant = options.grant ?? 'authorization_code';
  if (grant === 'client_credentials') {
    if (options.tenantDomain === null) throw new InvalidClient('a client credentials client serves one tenant: give its <domain>');
    if (options.redirectUris?.length) throw new InvalidClient('a client credentials client has no redirect URIs');
  } else if (options.tokenLifetime !== undefined) {
    throw new InvalidClient('a token lifetime applies to client credentials clients only');
  }
  const tokenLifetime = grant === 'client_credentials' ? (options.tokenLifetime ?? CLIENT_CREDENTIALS_TTL.default) : null;
  if (tokenLifetime !== null && !(tokenLifetime >= CLIENT_CREDENTIALS_TTL.min && tokenLifetime <= CLIENT_CREDENTIALS_TTL.max)) {
    throw new InvalidClient('the token lifetime must be between 60 minutes and 6 hours');
  }
  const redirectUris = grant === 'client_credentials' ? [] : options.redirectUris?.length ? options.redirectUris : [ENTRA_REDIRECT_URI];
  const added = await insertClient(db, {
    ...options,
    name: options.name ?? 'Microsoft Entra ID',
    redirectUris,
    kind: 'provisioning',
    grant,
    tokenLifetime,
  });
  return { client: added.client, clientSecret: added.clientSecret! };
}

/**
 * Registers one of SecureLogin's own apps as an OpenID Connect client. It
 * names its own redirect URIs; a public app (one that cannot keep a secret)
 * gets none and must use PKCE.
 */
export async function addAppClient(
  db: Db,
  options: { tenantDomain: string | null; name?: string; redirectUris: string[]; isPublic?: boolean; secretExpiresIn?: number },
): Promise<AddedClient> {
  if (!options.redirectUris.length) throw new InvalidClient('an app client needs at least one redirect URI (--redirect-uri)');
  return insertClient(db, { ...options, name: options.name ?? 'SecureLogin', kind: 'app' });
}

async function insertClient(
  db: Db,
  options: {
    tenantDomain: string | null;
    name: string;
    redirectUris: string[];
    kind: ClientKind;
    isPublic?: boolean;
    grant?: ClientGrant;
    tokenLifetime?: number | null;
    secretExpiresIn?: number;
  },
): Promise<AddedClient> {
  checkSecretLifetime(options.secretExpiresIn);
  if (options.isPublic && options.secretExpiresIn !== undefined) throw new InvalidClient('a public app has no secret to expire');
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
    redirect_uris: JSON.stringify(redirectUris),
    created_at: stamp,
    secret_rotated_at: stamp,
    grant_type: options.grant ?? 'authorization_code',
    access_token_ttl: options.tokenLifetime ?? null,
  };
  const secret = clientSecret === undefined ? undefined : secretRow(row.id, clientSecret, stamp, options.secretExpiresIn);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('clients').values(row).execute();
    if (secret) await trx.insertInto('client_secrets').values(secret).execute();
  });
  return { client: toClient(row, secret ? [secret] : []), clientSecret };
}

function secretRow(clientId: string, secret: string, stamp: string, expiresIn: number | undefined) {
  return {
    id: randomUUID(),
    client_id: clientId,
    secret_hash: hashSecret(secret),
    created_at: stamp,
    expires_at: expiresIn === undefined ? null : new Date(Date.parse(stamp) + expiresIn * 1000).toISOString(),
  };
}

function checkSecretLifetime(seconds: number | undefined): void {
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) {
    throw new InvalidClient('a secret must last a while: give a duration such as 1y');
  }
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
  const secrets = await secretsByClient(db);
  return rows.map((row) => ({ ...toClient(row, secrets.get(row.id) ?? []), tenantDomain: row.tenant_domain ?? null }));
}

/** Every client's usable secrets, newest first. */
async function secretsByClient(db: Db, tenantId?: string): Promise<Map<string, (SecretRow & { client_id: string })[]>> {
  let query = db
    .selectFrom('client_secrets')
    .innerJoin('clients', 'clients.id', 'client_secrets.client_id')
    .select([
      'client_secrets.id',
      'client_secrets.client_id',
      'client_secrets.secret_hash',
      'client_secrets.created_at',
      'client_secrets.expires_at',
    ]);
  if (tenantId !== undefined) query = query.where('clients.tenant_id', '=', tenantId);
  const byClient = new Map<string, (SecretRow & { client_id: string })[]>();
  for (const row of usable(await query.execute(), now())) {
    byClient.set(row.client_id, [...(byClient.get(row.client_id) ?? []), row]);
  }
  return byClient;
}

/** A client secret that runs out soon: what the console warns about. */
export interface ExpiringSecret {
  clientId: string;
  clientName: string;
  secretId: string;
  createdAt: string;
  expiresAt: string;
}

/**
 * The newest secret of each of the tenant's clients that expires within
 * `days` days (and has not yet): the console's connections page warns about
 * these 30 days ahead, so the operator rotates before Entra's job stops. An
 * older secret still in its overlap after a rotation is not listed: it is
 * meant to end.
 */
export async function secretsExpiringWithin(db: Db, tenantId: string, days: number): Promise<ExpiringSecret[]> {
  const [clients, secrets] = await Promise.all([
    db.selectFrom('clients').select(['id', 'name']).where('tenant_id', '=', tenantId).execute(),
    secretsByClient(db, tenantId),
  ]);
  const horizon = new Date(Date.now() + days * 24 * 3600 * 1000).toISOString();
  const expiring: ExpiringSecret[] = [];
  for (const client of clients) {
    const newest = secrets.get(client.id)?.[0];
    if (newest?.expires_at == null || newest.expires_at > horizon) continue;
    expiring.push({
      clientId: client.id,
      clientName: client.name,
      secretId: newest.id,
      createdAt: newest.created_at,
      expiresAt: newest.expires_at,
    });
  }
  return expiring.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
}

/** A client with the hashes of the secrets that work now (newest first), for the token endpoint to compare with. */
export async function findClient(db: Db, id: string): Promise<(Client & { secretHashes: string[] }) | undefined> {
  // Client ids are UUIDs; one that no store can even compare with (PostgreSQL fails on it) names no client.
  if (!isStorableText(id)) return undefined;
  const [row, secretRows] = await Promise.all([clientById.first(db, { id }), secretsOfClient.execute(db, { id })]);
  if (!row) return undefined;
  const secrets = usable(secretRows.rows, now());
  return { ...toClient(row, secrets), secretHashes: secrets.map((secret) => secret.secret_hash) };
}

// Read by the provider on every token request: compiled once (prepared.ts), no joins or sorts.
const clientById = prepare((db: Db, v: { id: string }) =>
  db
    .selectFrom('clients')
    .select([
      'id',
      'tenant_id',
      'name',
      'kind',
      'is_public',
      'redirect_uris',
      'created_at',
      'secret_rotated_at',
      'grant_type',
      'access_token_ttl',
    ])
    .where('id', '=', v.id),
);
const secretsOfClient = prepare((db: Db, v: { id: string }) =>
  db.selectFrom('client_secrets').select(['id', 'secret_hash', 'created_at', 'expires_at']).where('client_id', '=', v.id),
);

/**
 * Issues a new secret. The secrets the client has keep working for
 * `keepOld` seconds more (DEFAULT_KEEP_OLD_SECONDS; 0 ends them at once),
 * never longer than they would have anyway, so Entra's job keeps running
 * until the new secret is pasted in. The new secret expires after
 * `secretExpiresIn` seconds; without it, after as long as the secret it
 * replaces was given (none: it does not expire).
 */
export async function rotateClientSecret(
  db: Db,
  id: string,
  options: { keepOld?: number; secretExpiresIn?: number } = {},
): Promise<IssuedSecret> {
  const keepOld = options.keepOld ?? DEFAULT_KEEP_OLD_SECONDS;
  if (!(Number.isFinite(keepOld) && keepOld >= 0)) throw new InvalidClient('the overlap must be 0 or a duration such as 7d');
  checkSecretLifetime(options.secretExpiresIn);
  const client = await findClient(db, id);
  if (!client) throw new UnknownClient(id);
  if (client.isPublic) throw new InvalidClient(`client ${id} is a public app: it has no secret to rotate`);
  const clientSecret = newSecret();
  const stamp = now();
  const newest = client.secrets[0];
  const inherited =
    newest?.expiresAt == null ? undefined : Math.round((Date.parse(newest.expiresAt) - Date.parse(newest.createdAt)) / 1000);
  const secret = secretRow(id, clientSecret, stamp, options.secretExpiresIn ?? inherited);
  const cutOff = new Date(Date.parse(stamp) + keepOld * 1000).toISOString();
  await db.transaction().execute(async (trx) => {
    // Expired secrets go, and so does every old one when there is no overlap.
    if (keepOld === 0) await trx.deleteFrom('client_secrets').where('client_id', '=', id).execute();
    else {
      await trx.deleteFrom('client_secrets').where('client_id', '=', id).where('expires_at', '<=', stamp).execute();
      await trx
        .updateTable('client_secrets')
        .set({ expires_at: cutOff })
        .where('client_id', '=', id)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', cutOff)]))
        .execute();
    }
    await trx.insertInto('client_secrets').values(secret).execute();
    await trx.updateTable('clients').set({ secret_rotated_at: stamp }).where('id', '=', id).execute();
  });
  const { secretHashes: _, ...rest } = client;
  const kept = keepOld === 0 ? [] : client.secrets.map((old) => ({ ...old, expiresAt: minDate(old.expiresAt, cutOff) }));
  return { client: { ...rest, secretRotatedAt: stamp, secrets: [toSecret(secret), ...kept] }, clientSecret };
}

function minDate(a: string | null, b: string): string {
  return a === null || a > b ? b : a;
}

export async function removeClient(db: Db, id: string): Promise<Client> {
  const client = await findClient(db, id);
  if (!client) throw new UnknownClient(id);
  await db.deleteFrom('clients').where('id', '=', id).execute();
  const { secretHashes: _, ...rest } = client;
  return rest;
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(secretHash: string, presented: string): boolean {
  const a = Buffer.from(hashSecret(presented), 'hex');
  const b = Buffer.from(secretHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether the presented secret is any of these (each compared in constant time, all of them compared). */
export function secretMatchesAny(secretHashes: readonly string[], presented: string): boolean {
  let matched = false;
  for (const hash of secretHashes) matched = secretMatches(hash, presented) || matched;
  return matched;
}
