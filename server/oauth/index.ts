import type Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { type Store, UNAVAILABLE_RETRY_SECONDS } from '../store/index.ts';
import { type Auth, type BearerOptions, bearer, type Refusal } from './bearer.ts';
import { loadKeyMaterial } from './keys.ts';
import { createProvider, type RenderError, SCIM_SCOPE, SESSION_COOKIE } from './provider.ts';

export { accountIdFor, parseAccountId, type Standing, standingOf } from './accounts.ts';
export type { Auth, Credential, Refusal } from './bearer.ts';
export { describeKeyMaterial, type KeySummary, rotateKeyMaterial } from './keys.ts';
export { INTERACTION_PATH, type RenderError, SCIM_SCOPE } from './provider.ts';

declare module 'koa' {
  interface DefaultState {
    /** Set by `oauth.bearer()` on the routes it guards; nothing below it reads a header to find the tenant again. */
    auth: Auth;
    /** The token presented, as far as the bearer check read it, even when it refused it. */
    presentedToken?: { tenantId: string | undefined; grantId: string | undefined; clientId: string | undefined };
  }
}

export interface OAuthParts {
  config: Config;
  log: Logger;
  store: Store;
  /** server/sessions' adapter class for the provider's models. */
  Adapter: new (
    model: string,
  ) => Adapter;
  /** How the Authorize flow shows the provider's errors (server/interaction). */
  renderError: RenderError;
}

export interface OAuth {
  provider: Provider;
  /** The Koa app's keys must be these, or the provider cannot read its own cookies. */
  cookieKeys: string[];
  /** The provider's endpoints under /oauth/, OpenID discovery and RFC 8414 metadata. */
  routes: Koa.Middleware;
  /** The SCIM base URL: the resource and audience of every access token. */
  resource(): string;
  /**
   * RFC 6750 guard for the SCIM API: puts `ctx.state.auth` or answers 401/403
   * with WWW-Authenticate. `respond` may shape the refusal body.
   */
  bearer(options?: { respond?: (ctx: Koa.Context, refusal: Refusal) => void }): Koa.Middleware;
}

export async function createOAuth({ config, log, store, Adapter, renderError }: OAuthParts): Promise<OAuth> {
  const keys = await loadKeyMaterial(store, config);
  // Read per call: tests start on port 0 and learn PUBLIC_URL after listening.
  const resource = () => `${config.publicUrl.origin}/scim/v2`;
  const provider = createProvider({ config, log, db: store.db, keys, Adapter, resource, renderError });
  const providerRoutes = mount(provider);

  const dispatch: Koa.Middleware = async (ctx, next) => {
    if (ctx.path === '/oauth/authorize') freshSignIn(ctx);
    if (ctx.path === '/.well-known/oauth-authorization-server' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      // RFC 8414 metadata is the OpenID discovery document; serve the same one.
      ctx.path = '/.well-known/openid-configuration';
      try {
        return await providerRoutes(ctx, next);
      } finally {
        ctx.path = '/.well-known/oauth-authorization-server';
      }
    }
    return providerRoutes(ctx, next);
  };
  const routes: Koa.Middleware = async (ctx, next) => {
    await dispatch(ctx, next);
    // The provider renders a store outage as 503 temporarily_unavailable but
    // says nothing of when to come back; Entra and other clients honour Retry-After.
    if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(UNAVAILABLE_RETRY_SECONDS));
  };

  return {
    provider,
    cookieKeys: keys.cookieKeys,
    routes,
    resource,
    bearer(options = {}) {
      const guard: BearerOptions = { scope: SCIM_SCOPE, audience: resource, realm: 'SecureLogin SCIM', respond: options.respond };
      return bearer(provider, store.db, log, guard);
    },
  };
}

/**
 * Every Authorize starts signed out: the provider's browser session is not
 * read at /oauth/authorize. A person always chooses the domain and signs in on
 * that tenant, so an earlier session (another tenant, a user since disabled)
 * never carries over, and the provider never has to log one account out to
 * sign another in.
 */
function freshSignIn(ctx: Koa.Context): void {
  const cookie = ctx.req.headers.cookie;
  if (!cookie) return;
  const kept = cookie
    .split(';')
    .filter((pair) => {
      const name = pair.split('=')[0].trim();
      return name !== SESSION_COOKIE && name !== `${SESSION_COOKIE}.sig`;
    })
    .join(';');
  ctx.req.headers.cookie = kept;
}
