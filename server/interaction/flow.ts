import { createHmac, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { type Client, findClient } from '../directory/index.ts';
import type { Logger } from '../log.ts';
import { INTERACTION_PATH } from '../oauth/index.ts';
import { isUnavailable, type Throttle } from '../sessions/index.ts';
import type { Sso } from '../sso/index.ts';
import { type Database, UNAVAILABLE_RETRY_SECONDS } from '../store/index.ts';
import { type Params, preferLanguage, type Translate } from '../web/i18n.ts';
import { outcomeOf, showFinished } from './finished.ts';
import type { MessageKey } from './locales/en.ts';

/** What every page of the flow needs, given once by app.ts. */
export interface FlowParts {
  provider: Provider;
  db: Kysely<Database>;
  throttle: Throttle;
  log: Logger;
  /** The Koa app's cookie keys; the CSRF tokens are keyed by them too. */
  cookieKeys: string[];
  /** The SCIM resource the consent grants. */
  resource: () => string;
  /** Sign-in with Microsoft; undefined where the deployment has no Entra app registration. */
  sso?: Sso;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** One Authorize in progress: the provider's interaction and the client asking. */
export interface Flow {
  uid: string;
  interaction: Interaction;
  client: Client;
  /** The interaction's pages: the cookie the provider set is scoped to this path. */
  path: string;
  csrf: string;
}

export function text(ctx: Koa.Context): Translate<MessageKey> {
  return ctx.state.t as Translate<MessageKey>;
}

/**
 * The interaction named by the URL, as the browser's interaction cookie knows
 * it. A missing, expired or different interaction, or a client removed in the
 * meantime, ends in an error page a person understands and `undefined`; one
 * this browser finished (the back button after Allow) in a page saying so.
 * The pages speak the language the Authorize asked for (`ui_locales`) when
 * they can, else the browser's.
 */
export async function openFlow(ctx: Koa.Context, parts: FlowParts): Promise<Flow | undefined> {
  const uid = String(ctx.params.uid ?? '');
  let interaction: Interaction;
  try {
    interaction = await parts.provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    if (error instanceof errors.SessionNotFound) {
      gone(ctx, uid);
      return undefined;
    }
    throw error;
  }
  if (interaction.uid !== uid) {
    gone(ctx, uid);
    return undefined;
  }
  preferLanguage(ctx, interaction.params.ui_locales);
  const client = await findClient(parts.db, String(interaction.params.client_id));
  if (!client) {
    showError(ctx, 400, 'unknown_client');
    return undefined;
  }
  const { secretHashes: _, ...publicClient } = client;
  return { uid, interaction, client: publicClient, path: `${INTERACTION_PATH}/${uid}`, csrf: csrfToken(parts.cookieKeys, uid) };
}

function gone(ctx: Koa.Context, uid: string): void {
  const outcome = outcomeOf(ctx, uid);
  if (outcome) showFinished(ctx, outcome);
  else showError(ctx, 400, 'expired');
}

export type ErrorKind =
  | 'expired'
  | 'unknown_client'
  | 'redirect_uri'
  | 'request'
  | 'characters'
  | 'unsupported'
  | 'scope'
  | 'unauthorized_client'
  | 'access_denied'
  | 'csrf'
  | 'server'
  | 'unavailable'
  | 'sso_expired'
  | 'sign_on_tenant'
  | 'sign_on_none'
  | 'sign_on_several'
  | 'sign_on_unknown';

/**
 * The flow's error page, in the person's language, with the request id for
 * support. `detail` is English written for developers (oidc-provider's
 * error_description): shown on an English page only, never translated.
 */
export function showError(ctx: Koa.Context, status: number, kind: ErrorKind, options: { params?: Params; detail?: string } = {}): void {
  const t = text(ctx);
  ctx.status = status;
  ctx.render('error.njk', {
    status,
    heading: t(`error.${kind}.title`),
    message: t(`error.${kind}.message`, options.params),
    detail: ctx.state.lang === 'en' && options.detail ? t('error.detail', { detail: options.detail }) : undefined,
    reference: ctx.state.requestId,
  });
}

/**
 * Every page of the flow: a store that does not answer (Redis holding the
 * interaction, the directory holding the tenant) is a page saying so, 503
 * with Retry-After, not a generic error. The interaction is still there when
 * the store returns, so the same page can simply be submitted again.
 */
export function whenUnavailable(parts: Pick<FlowParts, 'log'>): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      // Logged once per outage by the store's watch (store/outages.ts), not once per request.
      parts.log.debug({ err: error, requestId: ctx.state.requestId, path: ctx.path }, 'sign-in page unavailable: a store does not answer');
      ctx.set('Retry-After', String(UNAVAILABLE_RETRY_SECONDS));
      showError(ctx, 503, 'unavailable');
    }
  };
}

/**
 * The CSRF token of an interaction: an HMAC of its uid under the cookie key.
 * Only this server can make it, it is good for this interaction only, and the
 * provider's interaction cookie (SameSite=Lax) must come with it.
 */
export function csrfToken(keys: string[], uid: string): string {
  return createHmac('sha256', keys[0]).update(`csrf:${uid}`).digest('base64url');
}

export function csrfValid(keys: string[], uid: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented === '') return false;
  const given = Buffer.from(presented);
  return keys.some((key) => {
    const expected = Buffer.from(createHmac('sha256', key).update(`csrf:${uid}`).digest('base64url'));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

/** The form's fields, or an empty record when the body is not a form. */
export function formOf(ctx: Koa.Context): Record<string, unknown> {
  const body = (ctx.request as { body?: unknown }).body;
  return body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
}

export function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value : '';
}

/** Refuses a POST whose CSRF token is missing or wrong; true when it may go on. */
export function checkCsrf(ctx: Koa.Context, flow: Flow, parts: FlowParts, form: Record<string, unknown>): boolean {
  if (csrfValid(parts.cookieKeys, flow.uid, form.csrf)) return true;
  parts.log.warn({ requestId: ctx.state.requestId, path: ctx.path }, 'form refused: CSRF token missing or wrong');
  showError(ctx, 403, 'csrf');
  return false;
}

/** Hands the interaction back to the provider, which continues the Authorize (303). */
export async function finish(ctx: Koa.Context, parts: FlowParts, result: Record<string, unknown>, merge = true): Promise<void> {
  const returnTo = await parts.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(returnTo);
}
