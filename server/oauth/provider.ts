import type { Kysely } from 'kysely';
import Provider, { type Adapter, type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { APP_CLAIMS, appClaims, appRefusal } from '../apps/index.ts';
import type { Config } from '../config.ts';
import { findTenantById, secretMatchesAny } from '../directory/index.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../store/index.ts';
import { parseAccountId, standingOf } from './accounts.ts';
import {
  CLIENT_KIND,
  CLIENT_TENANT,
  CLIENT_TOKEN_LIFETIME,
  clientFacts,
  directoryClients,
  fromDirectory,
  secretHashesOf,
} from './clients.ts';
import type { KeyMaterial } from './keys.ts';
import { rotateAndSlideGrant, withRotationGrace } from './refresh.ts';

/** Where every page of the Authorize flow lives; the interaction cookie is scoped to it. */
export const INTERACTION_PATH = '/oauth/interaction';

/** The scope Entra's tokens carry; the only one the SCIM resource knows. */
export const SCIM_SCOPE = 'scim';

/** The provider's browser-session cookie; dropped at the start of every Authorize (see freshSignIn). */
export const SESSION_COOKIE = 'slc_session';

export type RenderError = NonNullable<Configuration['renderError']>;

export interface ProviderParts {
  config: Config;
  log: Logger;
  db: Kysely<Database>;
  keys: KeyMaterial;
  /** Storage for sessions, interactions, grants, codes and tokens (server/sessions). */
  Adapter: new (
    model: string,
  ) => Adapter;
  /** The SCIM base URL: the resource indicator and the audience of every access token. */
  resource: () => string;
  renderError: RenderError;
}

export function createProvider({ config, log, db, keys, Adapter, resource, renderError }: ProviderParts): Provider {
  const clients = directoryClients(db);
  const configuration: Configuration = {
    adapter: (model: string) => {
      if (model === 'Client') return clients;
      const stored = new Adapter(model);
      return model === 'RefreshToken' ? withRotationGrace(stored, config.refreshTokenGrace) : stored;
    },
    clientBasedCORS: () => false,
    responseTypes: ['code'],
    cookies: {
      keys: keys.cookieKeys,
      names: { session: SESSION_COOKIE, interaction: 'slc_interaction', resume: 'slc_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    jwks: keys.jwks as Configuration['jwks'],
    routes: {
      authorization: '/oauth/authorize',
      token: '/oauth/token',
      revocation: '/oauth/revoke',
      introspection: '/oauth/introspect',
      jwks: '/oauth/jwks',
      userinfo: '/oauth/userinfo',
      end_session: '/oauth/logout',
      pushed_authorization_request: '/oauth/par',
      challenge: '/oauth/challenge',
    },
    extraParams: {
      // Entra may leave scope out; without one the flow would end in
      // access_denied ("no scope was granted"). An app names its scopes.
      scope(ctx: KoaContextWithOIDC, value: string | undefined) {
        if (!value && clientFacts(ctx.oidc.client).kind === 'provisioning') ctx.oidc.params!.scope = SCIM_SCOPE;
      },
      // The tenant's domain, so a sign-on URL skips the Go to domain page (server/interaction/domain.ts).
      domain_hint: null,
    },
    extraClientMetadata: { properties: [CLIENT_KIND, CLIENT_TENANT, CLIENT_TOKEN_LIFETIME] },
    // The scopes SecureLogin's apps may ask for and the claims each releases.
    claims: APP_CLAIMS,
    // An app reads the user's profile from its ID token; it need not call userinfo first.
    conformIdTokenClaims: false,
    // A public app has only PKCE to prove the code is its own, so it must
    // use it. A confidential app proves it with its secret and may leave PKCE
    // out: a sign-on URL (Entra's My Apps, /sso/start) cannot carry a
    // code_challenge. A challenge that was sent is always enforced.
    pkce: { required: (_ctx, client) => clientFacts(client).kind === 'app' && client.tokenEndpointAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: false },
      // Tokens are bearer tokens: Entra does not do DPoP.
      dPoP: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      // Entra's gallery apps may connect with a client of their own: no user,
      // the client's tenant only (a client registered with --grant client_credentials).
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client learns only about its own tokens, never another tenant's;
        // a token whose user or tenant is no longer in good standing is inactive.
        allowedPolicy: async (ctx, client, token) => {
          if (token.clientId !== client.clientId) return false;
          const { accountId } = token as { accountId?: string };
          if (accountId !== undefined) return inGoodStanding(ctx, accountId, client);
          // A client credentials token has no user: its client's tenant must still be enabled.
          const { tenantId } = clientFacts(client);
          const tenant = tenantId === null ? undefined : await fromDirectory(() => findTenantById(db, tenantId));
          return tenantId === null || (tenant !== undefined && !tenant.disabled);
        },
      },
      revocation: {
        enabled: true,
        // Another client's token is left alone, and the answer does not say it exists.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        // An app's access token is for userinfo (no audience); only Entra's client reaches SCIM.
        defaultResource: (_ctx, client) => (clientFacts(client).kind === 'app' ? undefined : resource()),
        useGrantedResource: () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          const facts = clientFacts(client);
          if (indicator !== resource() || facts.kind === 'app') throw new errors.InvalidTarget();
          const params = (ctx as KoaContextWithOIDC).oidc?.params;
          if (params?.grant_type === 'client_credentials') {
            // No person stands behind this token: the client's tenant must be enabled when it is issued (and at every use, bearer.ts).
            const tenant = facts.tenantId === null ? undefined : await fromDirectory(() => findTenantById(db, facts.tenantId!));
            if (!tenant) throw new errors.UnauthorizedClient('the tenant was removed');
            if (tenant.disabled) throw new errors.UnauthorizedClient('the tenant is disabled');
            // Entra asks for a client credentials token without a scope; the
            // grant keeps only the scopes asked for, so the SCIM scope is asked
            // for on its behalf (this runs before the grant reads the scope).
            if (!params.scope) params.scope = SCIM_SCOPE;
          }
          return { scope: SCIM_SCOPE, audience: resource(), accessTokenTTL: config.accessTokenTtl, accessTokenFormat: 'opaque' };
        },
      },
    },
    // Tokens outlive the browser session: Entra uses them for months.
    expiresWithSession: async () => false,
    // Entra's connection gets refresh tokens without offline_access: it is
    // useless without one. An app gets one only when it asked for offline_access.
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (clientFacts(client).kind !== 'app' || code.scopes.has('offline_access')),
    rotateRefreshToken: rotateAndSlideGrant({ lifetime: config.refreshTokenTtl, grace: config.refreshTokenGrace }),
    ttl: {
      AccessToken: config.accessTokenTtl,
      AuthorizationCode: config.authorizationCodeTtl,
      RefreshToken: config.refreshTokenTtl,
      Grant: config.refreshTokenTtl,
      ClientCredentials: (_ctx, _token, client) => clientFacts(client).tokenLifetime ?? config.accessTokenTtl,
      IdToken: 3600,
      Interaction: 30 * 60,
      Session: 60 * 60,
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}` },
    async findAccount(ctx, accountId, token) {
      const account = {
        accountId,
        async claims() {
          const parsed = parseAccountId(accountId);
          const claims = parsed && (await fromDirectory(() => appClaims(db, accountId, parsed.tenantId, parsed.userId)));
          return claims ? { ...claims } : { sub: accountId };
        },
      };
      // During the Authorize (no token yet) the consent step judges the
      // account and tells the person why it cannot go on; refusing here would
      // only break the flow. Every code exchange, refresh and userinfo call
      // passes a token: an account no longer in good standing gets nothing.
      if (!token) return account;
      const client = ctx.oidc?.client ?? (token.clientId ? await provider.Client.find(token.clientId) : undefined);
      return (await inGoodStanding(ctx, accountId, client)) ? account : undefined;
    },
    renderError,
  };

  /**
   * The standing check of every token path: Entra's client needs an active
   * manager; an app any active user of its tenant. A user SCIM deactivated or
   * deleted, or a disabled tenant, ends every token at its next use.
   */
  async function inGoodStanding(ctx: KoaContextWithOIDC, accountId: string, client: unknown): Promise<boolean> {
    const standing = await fromDirectory(() => standingOf(db, accountId));
    const facts = clientFacts(client);
    const refused = facts.kind === 'app' ? appRefusal(standing, facts.tenantId) : standing.kind === 'manager' ? undefined : standing.kind;
    if (refused)
      log.info({ requestId: ctx.state?.requestId, standing: refused, kind: facts.kind }, 'token refused: account not in good standing');
    return refused === undefined;
  }

  const provider = new Provider(config.publicUrl.origin, configuration);
  provider.proxy = config.trustProxy;

  // The directory keeps only a SHA-256 of each secret, so the provider must
  // compare the presented secret with those hashes (constant time; during a
  // rotation's overlap there are two). This replaces an internal method of
  // the Client model: test/oauth.flow.test.ts and test/secrets.test.ts pin the
  // behaviour (right secret accepted by basic and post, wrong one refused).
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, presented: string) {
    return typeof presented === 'string' && secretMatchesAny(secretHashesOf(this.clientSecret), presented);
  };

  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
    log.error({ err: error, requestId: ctx.state?.requestId, path: ctx.path }, 'authorization server error');
  });
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    log.warn({ requestId: ctx.state?.requestId, grantId, clientId: ctx.oidc?.client?.clientId }, 'grant revoked');
  });
  return provider;
}
