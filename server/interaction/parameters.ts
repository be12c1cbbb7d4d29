import type Koa from 'koa';
import type { Logger } from '../log.ts';
import { findUnstorableText } from '../store/index.ts';
import { showError } from './flow.ts';

/** Where Entra sends the admin's browser; the provider saves every parameter with the interaction it starts. */
const AUTHORIZE_PATH = '/oauth/authorize';

/**
 * Refuses an Authorize whose query holds a parameter (client_id,
 * redirect_uri, state, login_hint, domain_hint, …) with text no store can
 * keep (store/text.ts) before the provider sees it: PostgreSQL would fail
 * saving the interaction, SQLite and Redis would keep it. The page names
 * the parameter and links nowhere the request named. (The provider takes
 * Authorize as GET only; should request text reach an artifact by another
 * way, the session adapters refuse it: sessions/artifacts.ts.)
 */
export function refuseUnstorableParameters(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== AUTHORIZE_PATH) return next();
    const where = findUnstorableText(ctx.query);
    if (where === undefined) return next();
    // `state`, or `state[1]` when it was repeated: the parameter is the name before any index.
    const parameter = where.replace(/\[\d+\]$/, '');
    log.info({ requestId: ctx.state.requestId, parameter }, 'authorize refused: a parameter holds NUL or an unpaired surrogate');
    showError(ctx, 400, 'characters', { params: { parameter } });
  };
}
