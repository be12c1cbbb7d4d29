import http from 'node:http';
import path from 'node:path';
import Koa from 'koa';
import serve from 'koa-static';
import { createRecorder, observeGrants, type RecorderTuning, recordScim } from './activity/index.ts';
import type { Config } from './config.ts';
import { createConsole } from './console/index.ts';
import {
  authorizeCatalogues,
  interactionRoutes,
  refuseUnstorableParameters,
  renderAuthorizeError,
  ssoRoutes,
} from './interaction/index.ts';
import type { Logger } from './log.ts';
import { createOAuth, type OAuth } from './oauth/index.ts';
import { createScim, scimRefusal } from './scim/index.ts';
import { type Clock, openSessions, type Sessions } from './sessions/index.ts';
import { createSso } from './sso/index.ts';
import type { Store } from './store/index.ts';
import { i18n } from './web/i18n.ts';
import {
  createMetrics,
  createViews,
  errorPages,
  forwardedHeaders,
  healthRoutes,
  homeRoutes,
  installViews,
  ROOT,
  requestId,
  securityHeaders,
} from './web/index.ts';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
  }
}

export interface AppParts {
  config: Config;
  log: Logger;
  store: Store;
  /** The sign-in throttle's clock; tests move one on themselves instead of waiting. */
  throttleClock?: Clock;
  /** The console's and the activity record's clock (session timeouts, health, entry times). */
  clock?: Clock;
  activityTuning?: RecorderTuning;
}

export interface App {
  koa: Koa;
  /** The authorization server: its provider, and `bearer()` for the SCIM API. */
  oauth: OAuth;
  sessions: Sessions;
  /** Where the listening server answers itself; `listen` tells the app. */
  listening(url: string): void;
  /** Closes what the app opened besides the store (caches, Redis, timers). */
  close(): Promise<void>;
}

/** Composes the product's parts into one Koa app; main.ts and the tests start it. */
export async function createApp({ config, log, store, throttleClock, clock = Date.now, activityTuning }: AppParts): Promise<App> {
  const sessions = await openSessions({ config, store, log }, { clock: throttleClock });
  let oauth: OAuth;
  try {
    oauth = await createOAuth({ config, log, store, Adapter: sessions.Adapter, renderError: renderAuthorizeError });
  } catch (error) {
    await sessions.close();
    throw error;
  }
  // The provider signs its cookies with these keys; the app must use the same ones.
  // proxy: Koa reads X-Forwarded-Proto/Host, which forwardedHeaders() has
  // already dropped unless a trusted proxy sent them.
  const koa = new Koa({ proxy: config.trustProxy, keys: oauth.cookieKeys });
  installViews(koa, createViews());

  const metrics = createMetrics({ token: config.metricsToken });
  oauth.provider.on('grant.success', (ctx: Koa.Context) => metrics.grant(String(ctx.oidc?.params?.grant_type ?? ''), 'success'));
  oauth.provider.on('grant.error', (ctx: Koa.Context, error: { error?: string }) =>
    metrics.grant(String(ctx.oidc?.params?.grant_type ?? ''), error?.error ?? 'server_error'),
  );

  koa.use(forwardedHeaders(config));
  koa.use(requestId());
  koa.use(accessLog(log));
  koa.use(metrics.middleware);
  koa.use(securityHeaders({ https: config.publicUrl.protocol === 'https:' }));
  koa.use(i18n(authorizeCatalogues));
  koa.use(errorPages(log, store.outages));
  koa.use(staticAssets());

  const health = healthRoutes([
    { name: 'directory', check: () => store.ping() },
    { name: 'sessions', check: () => sessions.ping() },
  ]);
  koa.use(health.routes()).use(health.allowedMethods());
  const home = homeRoutes();
  koa.use(home.routes()).use(home.allowedMethods());

  // Every SCIM request goes into the tenant's activity record, written in batches off the request path.
  const recorder = createRecorder(
    { db: store.db, log: log.child({ part: 'activity' }), retentionDays: config.activityRetentionDays },
    { clock, ...activityTuning },
  );
  // The SCIM API: every request under /scim/v2 behind the bearer guard, answered in SCIM's own format.
  koa.use(
    createScim({ config, store, log, authenticate: oauth.bearer({ respond: scimRefusal(log) }), answered: recordScim(recorder, clock) }),
  );

  let localUrl = config.publicUrl.origin;
  let managerConsole: Awaited<ReturnType<typeof createConsole>>;
  try {
    managerConsole = await createConsole({
      config,
      db: store.db,
      log,
      provider: oauth.provider,
      Adapter: sessions.Adapter,
      recorder,
      localUrl: () => localUrl,
      clock,
    });
  } catch (error) {
    await recorder.close();
    await sessions.close();
    throw error;
  }
  koa.use(managerConsole.router.routes()).use(managerConsole.router.allowedMethods());

  koa.use(refuseUnstorableParameters(log));
  // Entra's connections: made at the code exchange, stamped at each refresh.
  koa.use(observeGrants(oauth.provider, store.db, log, clock));
  koa.use(oauth.routes);
  const flowParts = {
    provider: oauth.provider,
    db: store.db,
    throttle: sessions.throttle,
    log,
    cookieKeys: oauth.cookieKeys,
    resource: oauth.resource,
    sso: createSso({ config, db: store.db, log }),
  };
  const authorize = interactionRoutes(flowParts);
  koa.use(authorize.routes()).use(authorize.allowedMethods());
  const ssoPaths = ssoRoutes(flowParts);
  koa.use(ssoPaths.routes()).use(ssoPaths.allowedMethods());

  return {
    koa,
    oauth,
    sessions,
    listening(url) {
      localUrl = url;
    },
    async close() {
      managerConsole.close();
      await recorder.close();
      await sessions.close();
    },
  };
}

function staticAssets(): Koa.Middleware {
  const files = serve(path.join(ROOT, 'public'), { maxage: 60 * 60 * 1000, gzip: false, brotli: false });
  return async (ctx, next) => {
    // Browsers ask for /favicon.ico whatever the page links; it is the same SVG (served as image/svg+xml).
    const favicon = ctx.path === '/favicon.ico';
    if (ctx.path.startsWith('/static/') || favicon) {
      const original = ctx.path;
      ctx.path = favicon ? '/favicon.svg' : original.slice('/static'.length);
      await files(ctx, async () => {});
      ctx.path = original;
      if (ctx.body != null) return;
    }
    await next();
  };
}

/** One line per request; no query string, since authorize and callback URLs carry codes and state. */
function accessLog(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    if (!log.isLevelEnabled('info')) return next();
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round(ms * 10) / 10,
          ip: ctx.ip,
        },
        'request',
      );
    }
  };
}

export interface RunningServer {
  server: http.Server;
  /** The base URL the server listens on (http://127.0.0.1:<port>). */
  url: string;
  /**
   * Stops accepting, lets in-flight requests finish (up to `graceMs`, then
   * closes their connections), waits for their handlers (up to `graceMs`
   * and the store's deadline more), then closes the stores.
   */
  stop(graceMs?: number): Promise<void>;
}

export async function listen(app: App, store: Store, port: number, host?: string): Promise<RunningServer> {
  // Requests whose handler still runs: a connection closed at the end of the
  // grace period does not stop its handler, and closing the stores under it
  // turned its next query into a 500 ("driver has already been destroyed").
  const handle = app.koa.callback();
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = http.createServer((request, response) => {
    inFlight += 1;
    handle(request, response).finally(() => {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    });
  });
  server.listen({ port, host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as { port: number };
  app.listening(`http://127.0.0.1:${address.port}`);
  let stopping: Promise<void> | undefined;
  return {
    server,
    url: `http://127.0.0.1:${address.port}`,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive connections whose request finishes after this point would
        // otherwise stay open until the client hangs up: close them as they go idle.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearInterval(sweep);
        clearTimeout(timer);
        // Every handler ends by itself within the stores' own deadlines; the
        // bound is only against one that never does.
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            const bound = setTimeout(resolve, graceMs + store.deadlineMs);
            drained = () => {
              clearTimeout(bound);
              resolve();
            };
          });
        }
        await app.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
