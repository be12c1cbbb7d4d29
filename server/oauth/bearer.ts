import type Koa from 'koa';
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import { type Account, findTenantById, type Tenant } from '../directory/index.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../store/index.ts';
import { prepare } from '../store/prepared.ts';
import { SCIM_TOKEN_PREFIX, scimTokenStanding } from '../tokens/index.ts';
import { parseAccountId } from './accounts.ts';
import { SCIM_SCOPE } from './provider.ts';

/** How the caller got in: each is checked against the directory on every request. */
export type Credential =
  /** Entra's Authorize flow: a manager allowed access. */
  | { kind: 'authorize'; client: { id: string; name: string }; manager: Account; grantId: string }
  /** The client credentials grant: a client bound to the tenant, no user. */
  | { kind: 'client_credentials'; client: { id: string; name: string } }
  /** A long-lived SCIM token (`securelogin token add`). */
  | { kind: 'scim_token'; token: { id: string; name: string } };

/** What a verified access token means, for the resource it unlocks. */
export interface Auth {
  /** The one tenant this token may touch. */
  tenant: Tenant;
  scopes: string[];
  credential: Credential;
}

export interface BearerOptions {
  /** The scope the route needs. */
  scope: string;
  /** The audience tokens must carry (the resource's URL); read per request. */
  audience: () => string;
  realm: string;
  /**
   * Writes the refusal body; the WWW-Authenticate header and status are set
   * already. The default is an RFC 7644 error, since SCIM is the resource.
   */
  respond?: (ctx: Koa.Context, refusal: Refusal) => void;
}

export interface Refusal {
  status: 401 | 403;
  /** RFC 6750 error code; absent when no Bearer token was presented at all. */
  error?: 'invalid_token' | 'insufficient_scope';
  description: string;
}

/**
 * RFC 6750 bearer authentication: the token must be one this server issued
 * for `audience`, unexpired, unrevoked, with `scope`; and its tenant, client
 * and manager must still be in good standing in the directory, which is read
 * on every request (one indexed query) so that every instance agrees at once.
 * Three kinds of token pass: an Authorize access token (a manager allowed
 * it), a client credentials access token (its client bound to the tenant,
 * no user) and a SCIM token (`slc_scim_…`, bound to the tenant).
 */
export function bearer(provider: Provider, db: Kysely<Database>, log: Logger, options: BearerOptions): Koa.Middleware {
  const respond = options.respond ?? scimError;
  const refuse = (ctx: Koa.Context, refusal: Refusal) => {
    const params = [`realm="${options.realm}"`];
    if (refusal.error) params.push(`error="${refusal.error}"`, `error_description="${refusal.description}"`);
    if (refusal.error === 'insufficient_scope') params.push(`scope="${options.scope}"`);
    ctx.status = refusal.status;
    ctx.set('WWW-Authenticate', `Bearer ${params.join(', ')}`);
    ctx.set('Cache-Control', 'no-store');
    respond(ctx, refusal);
  };

  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    // No credentials, or another scheme: RFC 6750 §3.1 says to name no error.
    if (!/^Bearer(\s|$)/i.test(header)) {
      return refuse(ctx, { status: 401, description: 'a Bearer access token is required' });
    }
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    // A store that does not answer throws from these lookups rather than
    // finding nothing, and the caller answers 503: an outage must never read
    // as an invalid token (Entra quarantines a job that gets 401s).
    const checked = !match
      ? { refused: 'malformed' }
      : match[1].startsWith(SCIM_TOKEN_PREFIX)
        ? await scimToken(match[1])
        : await accessToken(ctx, match[1]);
    if ('refused' in checked) {
      log.info({ requestId: ctx.state.requestId, why: checked.refused, ...checked.detail }, 'access token refused');
      return refuse(ctx, { status: 401, error: 'invalid_token', description: 'the access token is invalid, expired or revoked' });
    }
    if (!checked.scopes.includes(options.scope)) {
      return refuse(ctx, { status: 403, error: 'insufficient_scope', description: `the access token lacks the scope ${options.scope}` });
    }
    ctx.state.auth = checked;
    await next();
  };

  /** An Authorize token, or else one of the client credentials grant (another model, the same opaque format). */
  async function accessToken(ctx: Koa.Context, value: string): Promise<Auth | Refused> {
    const token = (await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value));
    if (!token || token.isExpired) return { refused: 'unknown or expired' };
    const clientId = token.clientId;
    // Whose token it is, even if it is refused below: the activity record counts a connection's 401s.
    ctx.state.presentedToken = {
      tenantId: parseAccountId((token as { accountId?: string }).accountId)?.tenantId,
      grantId: (token as { grantId?: string }).grantId,
      clientId,
    };
    const audience = options.audience();
    const aud = (token as unknown as { aud?: string | string[] }).aud;
    if (!(Array.isArray(aud) ? aud.includes(audience) : aud === audience)) return { refused: 'audience', detail: { clientId } };
    if (!clientId) return { refused: 'client id' };
    const scopes = [...token.scopes];

    if (token instanceof provider.ClientCredentials) {
      const standing = await clientStandingFor(db, clientId);
      if ('refused' in standing) return { refused: standing.refused, detail: { clientId } };
      return { tenant: standing.tenant, scopes, credential: { kind: 'client_credentials', client: standing.client } };
    }
    const grantId = (token as { grantId?: string }).grantId;
    if (!grantId || !(await provider.Grant.find(grantId))) return { refused: 'grant revoked', detail: { clientId } };
    const account = parseAccountId((token as { accountId?: string }).accountId);
    if (!account) return { refused: 'account id', detail: { clientId } };
    const standing = await standingFor(db, account.tenantId, account.userId, clientId);
    if ('refused' in standing) return { refused: standing.refused, detail: { clientId, tenantId: account.tenantId } };
    return {
      tenant: standing.tenant,
      scopes,
      credential: { kind: 'authorize', client: standing.client, manager: standing.manager, grantId },
    };
  }

  /** A SCIM token (`securelogin token add`): it opens its tenant's SCIM API and nothing else. */
  async function scimToken(value: string): Promise<Auth | Refused> {
    const standing = await scimTokenStanding(db, value);
    if ('refused' in standing) return { refused: `SCIM token ${standing.refused}`, detail: { scimTokenId: standing.tokenId } };
    const { id, name } = standing.scimToken;
    return { tenant: standing.tenant, scopes: [SCIM_SCOPE], credential: { kind: 'scim_token', token: { id, name } } };
  }
}

/** Why a token is refused, for the log (never the token). */
type Refused = { refused: string; detail?: Record<string, unknown> };

type Standing = { refused: string } | { tenant: Tenant; client: { id: string; name: string }; manager: Account };

// The token check runs on every SCIM request: its queries are compiled once
// (server/store/prepared.ts) and kept free of joins and sorts, which SQLite
// re-plans on every run once their parameters change (BENCHMARKS.md).
const standingQuery = prepare((db: Kysely<Database>, v: { tenantId: string; userId: string; clientId: string }) =>
  db
    .selectFrom('users')
    .select((eb) => [
      'users.id as user_id',
      'users.user_name',
      'users.role',
      'users.active',
      'users.sign_in_disabled',
      eb('users.password_hash', 'is not', null).as('has_password'),
      eb.selectFrom('clients').select('clients.name').where('clients.id', '=', v.clientId).as('client_name'),
      eb.selectFrom('clients').select('clients.tenant_id').where('clients.id', '=', v.clientId).as('client_tenant_id'),
    ])
    .where('users.id', '=', v.userId)
    .where('users.tenant_id', '=', v.tenantId),
);

async function standingFor(db: Kysely<Database>, tenantId: string, userId: string, clientId: string): Promise<Standing> {
  const [row, tenant] = await Promise.all([standingQuery.first(db, { tenantId, userId, clientId }), findTenantById(db, tenantId)]);
  // A client's name is required, so none means no such client; a tenant has a domain or more.
  if (!row || row.client_name == null || !tenant || tenant.domains.length === 0) return { refused: 'client, user or tenant removed' };
  if (tenant.disabled) return { refused: 'tenant disabled' };
  if (row.client_tenant_id !== null && row.client_tenant_id !== tenantId) return { refused: 'client bound to another tenant' };
  if (!row.active) return { refused: 'manager inactive in the directory' };
  if (row.sign_in_disabled) return { refused: 'manager disabled by the operator' };
  if (row.role !== 'manager') return { refused: 'no longer a manager' };
  return {
    tenant,
    client: { id: clientId, name: row.client_name },
    manager: {
      id: row.user_id,
      tenantId,
      userName: row.user_name,
      role: 'manager',
      active: true,
      disabledByOperator: false,
      hasPassword: Boolean(row.has_password),
    },
  };
}

// A client credentials token has no user: the client itself must still be
// there, still of that grant, still bound to a tenant that is enabled.
const clientStandingQuery = prepare((db: Kysely<Database>, v: { clientId: string }) =>
  db.selectFrom('clients').select(['name', 'tenant_id', 'grant_type']).where('id', '=', v.clientId),
);

async function clientStandingFor(
  db: Kysely<Database>,
  clientId: string,
): Promise<{ refused: string } | { tenant: Tenant; client: { id: string; name: string } }> {
  const row = await clientStandingQuery.first(db, { clientId });
  if (!row) return { refused: 'client removed' };
  if (row.grant_type !== 'client_credentials' || row.tenant_id === null) return { refused: 'client not of the client credentials grant' };
  const tenant = await findTenantById(db, row.tenant_id);
  if (!tenant || tenant.domains.length === 0) return { refused: 'tenant removed' };
  if (tenant.disabled) return { refused: 'tenant disabled' };
  return { tenant, client: { id: clientId, name: row.name } };
}

function scimError(ctx: Koa.Context, refusal: Refusal): void {
  ctx.type = 'application/scim+json';
  ctx.body = {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: String(refusal.status),
    detail: refusal.description,
  };
}
