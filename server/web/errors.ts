import type { Middleware } from 'koa';
import type { Logger } from '../log.ts';
import { isStoreUnavailable, type Outages, UNAVAILABLE_RETRY_SECONDS } from '../store/index.ts';

/**
 * The one place errors become responses for the HTML and plain JSON parts of
 * the app. Client errors (4xx) are logged at info (warn when their message
 * was not meant for the client, which then sees a generic one), without a
 * stack, and show their message; a store that does not answer is a 503 page
 * with Retry-After; anything else is ours, logged at error with the request
 * id and shown as a generic page naming that id. Parts with
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
        respond(ctx, 404, 'Page not found', 'There is nothing at this address. Check the link, or start again from Microsoft Entra ID.');
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
        respond(ctx, 503, 'Temporarily unavailable', 'The service is temporarily unavailable. Nothing was lost: try again in a moment.');
      } else if (status < 400 || status >= 500) {
        log.error({ err: error, requestId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'request failed');
        respond(
          ctx,
          status >= 400 && status < 600 ? status : 500,
          'Something went wrong',
          'We could not finish this request. Please try again in a moment.',
        );
      } else if (!err.expose) {
        // A client's mistake whose message was not written for the client: not shown, and logged without a stack.
        log.warn({ requestId: ctx.state.requestId, ...refusal(ctx, status, err) }, 'request refused');
        respond(ctx, status, title(status), 'The request could not be handled.');
      } else {
        log.info({ requestId: ctx.state.requestId, ...refusal(ctx, status, err) }, 'request refused');
        respond(ctx, status, title(status), err.message ?? 'The request could not be handled.');
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

function title(status: number): string {
  if (status === 400) return 'This request is not valid';
  if (status === 401 || status === 403) return 'Access denied';
  if (status === 404) return 'Page not found';
  if (status === 405) return 'Method not allowed';
  if (status === 413) return 'Request too large';
  if (status === 429) return 'Too many attempts';
  return 'Request not handled';
}

function respond(ctx: Parameters<Middleware>[0], status: number, heading: string, message: string): void {
  ctx.status = status;
  if (ctx.accepts('html', 'json') === 'json') {
    ctx.body = { error: heading, message, requestId: ctx.state.requestId };
    return;
  }
  ctx.render('error.njk', { status, heading, message });
}
