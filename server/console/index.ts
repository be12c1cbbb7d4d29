import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type Koa from 'koa';
import { findAccountById, findTenantById } from '../directory/index.ts';
import { isUnavailable } from '../sessions/index.ts';
import { UNAVAILABLE_RETRY_SECONDS } from '../store/index.ts';
import { showActivity } from './activity.ts';
import { ensureConsoleClient } from './client.ts';
import { confirmRevoke, revoke, showConnections } from './connections.ts';
import { CONSOLE_PATH, csrfMatches, endSession, openSession, sweepSessions } from './session.ts';
import { finishSignIn, signOut, startSignIn } from './signin.ts';
import { type ConsoleParts, page, showMessage } from './view.ts';

export { CONSOLE_CLIENT_ID, ensureConsoleClient } from './client.ts';
export { ABSOLUTE_TIMEOUT_MS, IDLE_TIMEOUT_MS } from './session.ts';
export type { ConsoleParts } from './view.ts';

/**
 * The manager's console at {PUBLIC_URL}/console, in the order a manager
 * uses it: sign in (through the tenant's own sign-in at our provider),
 * the connections with their health, revoke one, the provisioning
 * activity behind them, sign out.
 */
export async function createConsole(parts: ConsoleParts): Promise<{ router: Router; close(): void }> {
  await ensureConsoleClient(parts.db, parts.config.publicUrl);
  const router = new Router({ prefix: CONSOLE_PATH });
  router.use(whenUnavailable(parts));

  router.get('/', async (ctx) => {
    const opened = await openSession(ctx, parts.db, parts.clock());
    if (opened.session) return ctx.redirect(`${CONSOLE_PATH}/connections`);
    page(ctx, 'signin.njk', { expired: opened.expired, signedOut: ctx.query.signed_out === '1' });
  });
  router.get('/login', (ctx) => startSignIn(ctx, parts));
  router.get('/callback', (ctx) => finishSignIn(ctx, parts));

  const manager = requireManager(parts);
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const csrf = checkCsrf(parts);
  router.get('/connections', manager, (ctx) => showConnections(ctx, parts));
  router.get('/activity', manager, (ctx) => showActivity(ctx, parts));
  router.get('/connections/:grant/revoke', manager, (ctx) => confirmRevoke(ctx, parts));
  router.post('/connections/:grant/revoke', manager, form, csrf, (ctx) => revoke(ctx, parts));
  router.post('/logout', manager, form, csrf, (ctx) => signOut(ctx, parts));

  const sweep = setInterval(
    () =>
      void sweepSessions(parts.db, parts.clock()).catch((error) =>
        isUnavailable(error) ? undefined : parts.log.warn({ err: error }, 'sweeping console sessions failed'),
      ),
    10 * 60_000,
  );
  sweep.unref();
  return { router, close: () => clearInterval(sweep) };
}

/**
 * Every page past sign-in: a session within its timeouts, of a manager who
 * is still an active manager of a tenant still enabled; checked on every
 * request, so a manager disabled meanwhile is out at once.
 */
function requireManager(parts: ConsoleParts): Koa.Middleware {
  return async (ctx, next) => {
    const opened = await openSession(ctx, parts.db, parts.clock());
    if (!opened.session) {
      if (ctx.method === 'GET') return ctx.redirect(CONSOLE_PATH);
      return showMessage(ctx, 403, 'csrf');
    }
    const { session } = opened;
    const [tenant, manager] = await Promise.all([
      findTenantById(parts.db, session.tenantId),
      findAccountById(parts.db, session.tenantId, session.userId),
    ]);
    if (!tenant || tenant.disabled || !manager || !manager.active || manager.role !== 'manager') {
      await endSession(ctx, parts.db, session);
      return showMessage(ctx, 403, 'refused', { again: true, params: { user: manager?.userName ?? '', tenant: tenant?.name ?? '' } });
    }
    ctx.state.console = { session, tenant, manager };
    await next();
  };
}

function checkCsrf(parts: ConsoleParts): Koa.Middleware {
  return async (ctx, next) => {
    const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    if (!ctx.state.console || !csrfMatches(ctx.state.console.session, body.csrf)) {
      parts.log.warn({ requestId: ctx.state.requestId, path: ctx.path }, 'console form refused: CSRF token missing or wrong');
      return showMessage(ctx, 403, 'csrf');
    }
    await next();
  };
}

function whenUnavailable(parts: ConsoleParts): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      parts.log.debug({ err: error, requestId: ctx.state.requestId, path: ctx.path }, 'console unavailable: a store does not answer');
      ctx.set('Retry-After', String(UNAVAILABLE_RETRY_SECONDS));
      showMessage(ctx, 503, 'unavailable');
    }
  };
}
