import { timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Counts a token endpoint outcome: `success`, or the OAuth error code. */
  grant(grantType: string, outcome: string): void;
  middleware: Koa.Middleware;
}

const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'temporarily_unavailable',
  'server_error',
]);

/**
 * Labels must have a small, fixed set of values: a raw path would make one
 * series per user id or interaction. This maps a request to what it is.
 */
export function routeOf(method: string, path: string): string {
  if (path.startsWith('/scim/v2/')) {
    const resource = path.split('/')[3] ?? '';
    if (resource === 'Users' || resource === 'Groups') return `scim_${resource.toLowerCase()}`;
    if (['ServiceProviderConfig', 'ResourceTypes', 'Schemas'].includes(resource)) return 'scim_discovery';
    return 'scim_other';
  }
  if (path === '/oauth/token') return 'oauth_token';
  if (path === '/oauth/authorize') return 'oauth_authorize';
  if (path.startsWith('/oauth/interaction/')) {
    if (path.includes('/login/')) return 'sign_in';
    if (path.endsWith('/consent')) return 'consent';
    return method === 'POST' ? 'go_to_domain' : 'interaction';
  }
  if (path.startsWith('/oauth/') || path.startsWith('/.well-known/')) return 'oauth_other';
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return 'operations';
  if (path.startsWith('/static/')) return 'static';
  return 'other';
}

function signInOutcome(status: number): string {
  if (status >= 300 && status < 400) return 'signed_in';
  if (status === 400) return 'wrong_credentials';
  if (status === 403) return 'refused';
  if (status === 429) return 'locked';
  return 'error';
}

/**
 * Prometheus metrics for /metrics: process figures (memory, event loop lag,
 * GC), requests by route and status with their durations, token grants by
 * outcome, and sign-in outcomes (failures and lockouts are what to watch).
 * Each app has its own registry, so instances in one process do not mix.
 */
export function createMetrics(options: { token?: string } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'securelogin_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'securelogin_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const grants = new Counter({
    name: 'securelogin_token_grants_total',
    help: 'Token endpoint requests by grant type and outcome',
    labelNames: ['grant_type', 'outcome'],
    registers: [registry],
  });
  const signIns = new Counter({
    name: 'securelogin_sign_ins_total',
    help: 'Tenant sign-in attempts by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;

  const middleware: Koa.Middleware = async (ctx, next) => {
    if (ctx.path === '/metrics' && ctx.method === 'GET') {
      if (expected) {
        const given = Buffer.from(ctx.get('Authorization'));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
          ctx.body = { error: 'unauthorized', message: 'Send the METRICS_TOKEN as a Bearer token.' };
          return;
        }
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.type = registry.contentType;
      ctx.body = await registry.metrics();
      return;
    }
    const route = routeOf(ctx.method, ctx.path);
    const stop = durations.startTimer({ route });
    try {
      await next();
    } finally {
      stop();
      // Responses written straight to the socket (the provider, SCIM's 204s) set ctx.status too.
      const status = ctx.status;
      requests.inc({ route, method: ctx.method, status: String(status) });
      if (route === 'sign_in' && ctx.method === 'POST') signIns.inc({ outcome: signInOutcome(status) });
    }
  };

  return {
    registry,
    middleware,
    grant(grantType, outcome) {
      grants.inc({
        grant_type: GRANT_TYPES.has(grantType) ? grantType : 'other',
        outcome: outcome === 'success' || OAUTH_ERRORS.has(outcome) ? outcome : 'other',
      });
    },
  };
}
