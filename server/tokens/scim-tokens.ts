import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { findTenantById, getTenant, InvalidName, type Tenant } from '../directory/index.ts';
import { type Database, now } from '../store/index.ts';
import { prepare } from '../store/prepared.ts';
import { InvalidTokenLifetime, UnknownScimToken } from './errors.ts';

type Db = Kysely<Database>;

/**
 * Every SCIM token starts with this, so the bearer check knows which store to
 * ask without trying the others, and a secret scanner can recognise a leaked one.
 */
export const SCIM_TOKEN_PREFIX = 'slc_scim_';

/** A SCIM token as the operator sees it; never the token or its hash. */
export interface ScimToken {
  id: string;
  tenantId: string;
  name: string;
  createdAt: string;
  /** null: it does not expire. */
  expiresAt: string | null;
  /** When it last opened the SCIM API; kept to within LAST_USED_PRECISION_MS. */
  lastUsedAt: string | null;
}

/** Returned once, when the token is made; only its hash is kept. */
export interface IssuedScimToken {
  scimToken: ScimToken;
  token: string;
}

/** Writing the last use on every SCIM request would make each read a write; once in five minutes says enough. */
const LAST_USED_PRECISION_MS = 5 * 60 * 1000;

// 256 random bits: a single SHA-256 keeps a leaked store from yielding a
// usable token, and the check stays one indexed lookup.
function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

type ScimTokenRow = {
  id: string;
  tenant_id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
};

function toScimToken(row: ScimTokenRow): ScimToken {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}

/** Makes a SCIM token for a tenant; `expiresIn` in seconds (none: it does not expire). */
export async function addScimToken(
  db: Db,
  options: { tenantDomain: string; name?: string; expiresIn?: number },
): Promise<IssuedScimToken & { tenant: Tenant }> {
  const tenant = await getTenant(db, options.tenantDomain);
  const name = (options.name ?? 'Microsoft Entra ID').trim();
  if (name === '' || name.length > 200) throw new InvalidName('the token name', 'must be 1 to 200 characters');
  const { expiresIn } = options;
  if (expiresIn !== undefined && !(Number.isFinite(expiresIn) && expiresIn > 0)) throw new InvalidTokenLifetime();
  const token = `${SCIM_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const stamp = now();
  const row = {
    id: randomUUID(),
    tenant_id: tenant.id,
    name,
    token_hash: hashToken(token),
    created_at: stamp,
    expires_at: expiresIn === undefined ? null : new Date(Date.parse(stamp) + expiresIn * 1000).toISOString(),
    last_used_at: null,
  };
  await db.insertInto('scim_tokens').values(row).execute();
  return { scimToken: toScimToken(row), token, tenant };
}

/** A tenant's SCIM tokens, oldest first, expired ones included (they show as expired until revoked). */
export async function listScimTokens(db: Db, tenantId: string): Promise<ScimToken[]> {
  const rows = await db
    .selectFrom('scim_tokens')
    .select(['id', 'tenant_id', 'name', 'created_at', 'expires_at', 'last_used_at'])
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toScimToken);
}

/** Deletes a token: the next request that presents it is refused. */
export async function revokeScimToken(db: Db, id: string): Promise<ScimToken & { tenantDomain: string | null }> {
  const row = /^[0-9a-f-]{36}$/i.test(id)
    ? await db
        .selectFrom('scim_tokens')
        .select(['id', 'tenant_id', 'name', 'created_at', 'expires_at', 'last_used_at'])
        .where('id', '=', id.toLowerCase())
        .executeTakeFirst()
    : undefined;
  if (!row) throw new UnknownScimToken(id);
  await db.deleteFrom('scim_tokens').where('id', '=', row.id).execute();
  const tenant = await findTenantById(db, row.tenant_id);
  return { ...toScimToken(row), tenantDomain: tenant?.domains[0] ?? null };
}

export type ScimTokenStanding = { refused: string; tokenId?: string } | { tenant: Tenant; scimToken: ScimToken };

// Read on every SCIM request that presents a SCIM token: compiled once.
const tokenByHash = prepare((db: Db, v: { hash: string }) =>
  db
    .selectFrom('scim_tokens')
    .select(['id', 'tenant_id', 'name', 'token_hash', 'created_at', 'expires_at', 'last_used_at'])
    .where('token_hash', '=', v.hash),
);
const touch = prepare((db: Db, v: { id: string; at: string; staleBefore: string }) =>
  db
    .updateTable('scim_tokens')
    .set({ last_used_at: v.at })
    .where('id', '=', v.id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', v.staleBefore)])),
);

/**
 * Whether a presented SCIM token opens its tenant's SCIM API now: it exists
 * (not revoked), has not expired, and its tenant is there and enabled. Read
 * on every request, so a revocation or a disabled tenant takes effect at once
 * on every instance.
 */
export async function scimTokenStanding(db: Db, presented: string): Promise<ScimTokenStanding> {
  const hash = hashToken(presented);
  const row = await tokenByHash.first(db, { hash });
  // The lookup is by hash already; the comparison in constant time is for the habit.
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return { refused: 'unknown or revoked' };
  const at = now();
  if (row.expires_at !== null && row.expires_at <= at) return { refused: 'expired', tokenId: row.id };
  const tenant = await findTenantById(db, row.tenant_id);
  if (!tenant || tenant.domains.length === 0) return { refused: 'tenant removed', tokenId: row.id };
  if (tenant.disabled) return { refused: 'tenant disabled', tokenId: row.id };
  const staleBefore = new Date(Date.parse(at) - LAST_USED_PRECISION_MS).toISOString();
  const stale = row.last_used_at === null || row.last_used_at < staleBefore;
  if (stale) await touch.execute(db, { id: row.id, at, staleBefore });
  return { tenant, scimToken: toScimToken({ ...row, last_used_at: stale ? at : row.last_used_at }) };
}
