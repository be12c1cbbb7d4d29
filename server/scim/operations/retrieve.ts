import { NotFound } from '../protocol/errors.ts';
import { project, wants } from '../protocol/projection.ts';
import { send, toResource } from '../protocol/render.ts';
import { readProjectionParameters } from '../protocol/request.ts';
import type { ResourceOperation } from '../resources/exchange.ts';
import { relatedAttribute } from '../resources/exchange.ts';
import { etag } from '../resources/repository.ts';

/** RFC 7644 §3.4.1: GET /Users/{id}. With If-None-Match naming the current version, 304. */
export const retrieve: ResourceOperation = async ({ ctx, tenantId, base }, repository, id) => {
  const projection = readProjectionParameters(repository.type, ctx.query);
  const stored = await repository.find(tenantId, id, wants(projection, relatedAttribute(repository)));
  if (!stored) throw new NotFound(`no ${repository.type.name} with id "${id}"`);
  const tag = etag(stored.version);
  ctx.set('ETag', tag);
  const ifNoneMatch = ctx.get('If-None-Match');
  if (ifNoneMatch?.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === tag.slice(2))) {
    send(ctx, 304);
    return;
  }
  send(ctx, 200, project(toResource(repository.type, stored, base), projection));
};
