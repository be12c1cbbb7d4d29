import type Koa from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Refusal } from '../oauth/index.ts';
import { isStorableText, type Store, showText } from '../store/index.ts';
import { create } from './operations/create.ts';
import { remove } from './operations/delete.ts';
import { resourceTypes, schemas, serviceProviderConfig } from './operations/discovery.ts';
import { modify } from './operations/modify.ts';
import { query, search } from './operations/query.ts';
import { replace } from './operations/replace.ts';
import { retrieve } from './operations/retrieve.ts';
import { MethodNotAllowed, NotFound, NotImplemented, Unauthorized } from './protocol/errors.ts';
import { sendError } from './protocol/render.ts';
import type { Exchange } from './resources/exchange.ts';
import { createGroups } from './resources/groups.ts';
import type { Repository } from './resources/repository.ts';
import { createUsers } from './resources/users.ts';

export { MEDIA_TYPE } from './protocol/render.ts';
export { DEFAULT_COUNT, MAX_COUNT } from './protocol/request.ts';

/** The Tenant URL Entra is given: {PUBLIC_URL}/scim/v2. */
export const SCIM_PATH = '/scim/v2';

/** 1 MiB: Entra's requests are a few kilobytes; a PUT of a group with ten thousand members still fits. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface ScimParts {
  config: Pick<Config, 'publicUrl'>;
  store: Pick<Store, 'db' | 'dialect'>;
  log: Logger;
  /**
   * The bearer middleware (oauth.bearer()): sets `ctx.state.auth` and calls
   * next, or refuses. Everything below it takes the tenant from
   * `ctx.state.auth.tenant.id` and from nowhere else.
   */
  authenticate: Koa.Middleware;
  maxBodyBytes?: number;
  /** Told of every request once it is answered (server/activity's record); must not throw or wait. */
  answered?: (ctx: Koa.Context) => void;
}

/**
 * The SCIM 2.0 service provider (RFC 7643/7644, in the Entra dialect) as one
 * Koa middleware answering everything under /scim/v2, every response with
 * a body `application/scim+json`, every error an RFC 7644 §3.12 body.
 */
export function createScim({
  config,
  store,
  log,
  authenticate,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
  answered,
}: ScimParts): Koa.Middleware {
  const parts = { db: store.db, dialect: store.dialect };
  const repositories = new Map<string, Repository>([
    ['users', createUsers(parts)],
    ['groups', createGroups(parts)],
  ]);

  const dispatch = async (ctx: Koa.Context) => {
    try {
      const exchange: Exchange = {
        ctx,
        tenantId: ctx.state.auth.tenant.id,
        base: `${config.publicUrl.origin}${SCIM_PATH}`,
        maxBodyBytes,
      };
      await route(exchange, repositories);
    } catch (error) {
      sendError(ctx, error, log);
    }
  };

  return async (ctx, next) => {
    if (ctx.path !== SCIM_PATH && !ctx.path.startsWith(`${SCIM_PATH}/`)) return next();
    let reached = false;
    try {
      await authenticate(ctx, async () => {
        reached = true;
        await dispatch(ctx);
      });
      if (!reached && !ctx.response.get('Content-Type').startsWith('application/scim+json')) {
        // A refusal written by a middleware that does not speak SCIM: keep its status and challenge, give it a SCIM body.
        const status = ctx.status === 403 ? 403 : 401;
        sendError(ctx, new Unauthorized(status, 'a valid access token is required', 'Bearer'), log);
      }
    } catch (error) {
      sendError(ctx, error, log);
    }
    answered?.(ctx);
  };
}

/** For `oauth.bearer({ respond })`: the token middleware's refusals as SCIM errors, through the one renderer. */
export function scimRefusal(log: Logger): (ctx: Koa.Context, refusal: Refusal) => void {
  return (ctx, refusal) => sendError(ctx, new Unauthorized(refusal.status, refusal.description, 'Bearer'), log);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

async function route(exchange: Exchange, repositories: Map<string, Repository>): Promise<void> {
  const { ctx } = exchange;
  const segments = pathSegments(ctx.path.slice(SCIM_PATH.length));
  const method = (ctx.method === 'HEAD' ? 'GET' : ctx.method) as Method;
  const allow = (...methods: Method[]) => {
    if (!methods.includes(method)) throw new MethodNotAllowed(ctx.method, methods);
  };
  const [first, second, ...rest] = segments;
  const endpoint = first?.toLowerCase();

  if (rest.length > 0 || first === undefined) {
    throw new NotFound(`nothing at ${ctx.path}; the endpoints are /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas`);
  }
  if (endpoint === 'serviceproviderconfig' && second === undefined) {
    allow('GET');
    return serviceProviderConfig(exchange);
  }
  if (endpoint === 'resourcetypes') {
    allow('GET');
    return resourceTypes(exchange, second);
  }
  if (endpoint === 'schemas') {
    allow('GET');
    return schemas(exchange, second);
  }
  if (endpoint === 'bulk' || endpoint === 'me' || endpoint === '.search') {
    throw new NotImplemented(`${first} is not supported by this service provider (see /ServiceProviderConfig)`);
  }
  const repository = repositories.get(endpoint);
  if (!repository) throw new NotFound(`nothing at ${ctx.path}; the endpoints are /Users and /Groups`);
  if (second === undefined) {
    allow('GET', 'POST');
    return method === 'GET' ? query(exchange, repository) : create(exchange, repository);
  }
  if (second === '.search') {
    allow('POST');
    return search(exchange, repository);
  }
  allow('GET', 'PUT', 'PATCH', 'DELETE');
  // No resource has such an id (ids are UUIDs), and PostgreSQL cannot even compare with it.
  if (!isStorableText(second)) throw new NotFound(`no ${repository.type.name} with id "${showText(second)}"`);
  const operation = { GET: retrieve, PUT: replace, PATCH: modify, DELETE: remove }[method as 'GET' | 'PUT' | 'PATCH' | 'DELETE'];
  return operation(exchange, repository, second);
}

function pathSegments(path: string): string[] {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new NotFound('the path is not valid percent-encoding');
  }
}
