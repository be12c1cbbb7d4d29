import type { Middleware } from 'koa';
import type { Logger } from '../log.ts';
import { isStoreUnavailable, type Outages, UNAVAILABLE_RETRY_SECONDS } from '../store/index.ts';
import { LANGUAGES, type Language, translator } from './i18n.ts';
import { type PageKey, pageCatalogues } from './locales.ts';

type Context = Parameters<Middleware>[0];

/**
 * The one place errors become responses for the HTML and plain JSON parts of
 * the app. Client errors (4xx) are logged at info (warn when their message
 * was not meant for the client, which then sees a generic one), without a
 * stack, and show their message; a store that does not answer is a 503 page
 * with Retry-After; anything else is ours, logged at error with the request
 * id and shown as a generic page naming that id. Pages are in the visitor's
 * language; a client error's own message is English, so a page in another
 * language shows its status's sentence instead. Parts with
 * their own wire format (SCIM, oidc-provider) render their own; every 503,
 * whoever rendered it, is counted against the store outage in progress, for
 * the line that says when it ended.
 */
export function errorPages(log: Logger, outages: Outages): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        ctx.status = 404;
        respond(ctx, 404, 'page.not_found');
      }
    } catch (error) {
      const err = error as { status?: number; statusCode?: number; expose?: boolean; message?: string; name?: string; type?: string };
      const status = err.status ?? err.statusCode ?? 500;
      if (status === 503 || isStoreUnavailable(error)) {
        // Logged once per outage by the store's watch, not once per request.
        log.debug(
          { err: error, requestId: ctx.state.requestId, method: ctx.method, path: ctx.path },
          'request refused: a store is unavailable',
        );
        ctx.set('Retry-After', String(UNAVAILABLE_RETRY_SECONDS));
        respond(ctx, 503, 'page.unavailable');
      } else if (status < 400 || status >= 500) {
        log.error({ err: error, requestId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'request failed');
        respond(ctx, status >= 400 && status < 600 ? status : 500, 'page.server');
      } else if (!err.expose) {
        // A client's mistake whose message was not written for the client: not shown, and logged without a stack.
        log.warn({ requestId: ctx.state.requestId, ...refusal(ctx, status, err) }, 'request refused');
        respond(ctx, status, kindOf(status), { message: 'page.other.message' });
      } else {
        log.info({ requestId: ctx.state.requestId, ...refusal(ctx, status, err) }, 'request refused');
        respond(ctx, status, kindOf(status), { english: err.message });
      }
    } finally {
      // /readyz is a probe polled every few seconds, not a request that was refused.
      if (ctx.status === 503 && ctx.path !== '/readyz') outages.refused();
    }
  };
}

/** What a refused request's log line says: the kind of error, never its message, which may quote the body (a password). */
function refusal(ctx: Parameters<Middleware>[0], status: number, err: { name?: string; type?: string }) {
  return { method: ctx.method, path: ctx.path, status, error: err.type ?? err.name };
}

type KindOf<Key> = Key extends `${infer Kind}.title` ? Kind : never;
type PageKind = KindOf<PageKey>;

function kindOf(status: number): PageKind {
  if (status === 400 || status === 405 || status === 413 || status === 429) return `page.${status}` as PageKind;
  if (status === 401 || status === 403) return 'page.403';
  if (status === 404) return 'page.not_found';
  return 'page.other';
}

/**
 * The error page (or JSON, for a client that asks for it, which stays
 * English). `english` is a message written in English for the client: shown
 * on an English page only; `message` overrides the kind's own sentence.
 */
function respond(ctx: Context, status: number, kind: PageKind, options: { message?: PageKey; english?: string } = {}): void {
  ctx.status = status;
  const messageKey = options.message ?? (`${kind}.message` as PageKey);
  if (ctx.accepts('html', 'json') === 'json') {
    const t = translator(pageCatalogues.en, pageCatalogues.en);
    ctx.body = { error: t(`${kind}.title` as PageKey), message: options.english ?? t(messageKey), requestId: ctx.state.requestId };
    return;
  }
  const lang: Language = LANGUAGES.includes(ctx.state.lang) ? ctx.state.lang : LANGUAGES[0];
  const t = translator(pageCatalogues[lang], pageCatalogues.en);
  const message = lang === 'en' && options.english ? options.english : t(messageKey);
  ctx.render('error.njk', { status, heading: t(`${kind}.title` as PageKey), message, reference: ctx.state.requestId });
}
