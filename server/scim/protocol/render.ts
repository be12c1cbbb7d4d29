import type Koa from 'koa';
import type { Logger } from '../../log.ts';
import { isUnavailable } from '../../sessions/index.ts';
import { UNAVAILABLE_RETRY_SECONDS } from '../../store/index.ts';
import { etag, type Stored } from '../resources/repository.ts';
import { NotImplemented, ScimError, ServiceUnavailable } from './errors.ts';
import { schemasOf } from './resource.ts';
import { ERROR, LIST_RESPONSE, type ResourceTypeDefinition } from './schemas.ts';

export const MEDIA_TYPE = 'application/scim+json';

/**
 * Every SCIM response goes out through here: status, `application/scim+json`
 * on every response that has a body (and on 304, which stands for one), and
 * no caching of directory data. A 204 has no content, so it names no media
 * type (RFC 9110 §8.3).
 */
export function send(ctx: Koa.Context, status: number, body?: unknown): void {
  ctx.set('Cache-Control', 'no-store');
  if (status === 204) {
    ctx.status = 204;
    ctx.body = null;
    ctx.remove('Content-Type');
    return;
  }
  if (body === undefined) {
    // Koa strips Content-Type from a 304 on the way out; it is finished here
    // instead, so the media type of the resource it stands for stays on it.
    ctx.status = status;
    ctx.respond = false;
    ctx.res.setHeader('Content-Type', MEDIA_TYPE);
    ctx.res.end();
    return;
  }
  ctx.status = status;
  ctx.type = MEDIA_TYPE;
  ctx.state.scimAnswer = body;
  ctx.body = JSON.stringify(body);
}

/**
 * The one renderer of errors: an RFC 7644 §3.12 body with `status` as a
 * string and the scimType when one applies. A client error's detail is
 * meant for the client; anything else is logged with the request id and
 * answered 500 without internals.
 */
export function sendError(ctx: Koa.Context, error: unknown, log: Logger): void {
  if (isUnavailable(error)) {
    // Logged once per outage by the store's watch (store/outages.ts), not once per request.
    log.debug(
      { err: error, requestId: ctx.state.requestId, method: ctx.method, path: ctx.path },
      'scim request failed: a store is unavailable',
    );
    const unavailable = new ServiceUnavailable(UNAVAILABLE_RETRY_SECONDS);
    for (const [name, value] of Object.entries(unavailable.headers)) ctx.set(name, value);
    send(ctx, 503, errorBody(503, unavailable.message));
    return;
  }
  if (error instanceof ScimError) {
    for (const [name, value] of Object.entries(error.headers)) {
      // Keep a challenge the token middleware already wrote (it knows the realm and error code).
      if (name === 'WWW-Authenticate' && ctx.response.get(name)) continue;
      ctx.set(name, value);
    }
    // 501 (Bulk, /Me) answers what the client asked for, not a fault of ours: no stack, not at error level.
    if (error.status >= 500 && !(error instanceof NotImplemented)) {
      log.error({ err: error, requestId: ctx.state.requestId, path: ctx.path }, 'scim request failed');
    } else {
      // Not the detail: it may quote what the client sent.
      log.info(
        { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status: error.status, scimType: error.scimType },
        'scim request refused',
      );
    }
    send(ctx, error.status, errorBody(error.status, error.message, error.scimType));
    return;
  }
  log.error({ err: error, requestId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'scim request failed');
  send(ctx, 500, errorBody(500, `the request could not be completed; quote request id ${ctx.state.requestId} when reporting this`));
}

export function errorBody(status: number, detail: string, scimType?: string): Record<string, unknown> {
  return { schemas: [ERROR], ...(scimType ? { scimType } : {}), detail, status: String(status) };
}

/** The resource as it goes on the wire: schemas, id, the attributes, a user's groups or a group's members, meta. */
export function toResource(type: ResourceTypeDefinition, stored: Stored, base: string): Record<string, unknown> {
  const { schemas: _, ...attributes } = stored.document;
  const location = `${base}${type.endpoint}/${encodeURIComponent(stored.id)}`;
  const resource: Record<string, unknown> = { schemas: schemasOf(type, stored.document), id: stored.id, ...attributes };
  if (stored.related && stored.related.length > 0) {
    const isGroup = type.name === 'Group';
    resource[isGroup ? 'members' : 'groups'] = stored.related.map((r) => ({
      value: r.id,
      $ref: `${base}${isGroup ? '/Users' : '/Groups'}/${encodeURIComponent(r.id)}`,
      ...(r.display === undefined ? {} : { display: r.display }),
      type: isGroup ? 'User' : 'direct',
    }));
  }
  resource.meta = {
    resourceType: type.name,
    created: stored.created,
    lastModified: stored.lastModified,
    location,
    version: etag(stored.version),
  };
  return resource;
}

export function listResponse(resources: unknown[], total: number, startIndex: number): Record<string, unknown> {
  return { schemas: [LIST_RESPONSE], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}
