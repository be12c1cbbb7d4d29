import { NotFound } from '../errors.ts';
import type { ResourceOperation } from '../exchange.ts';
import { relatedAttribute } from '../exchange.ts';
import { project, wants } from '../projection.ts';
import { send, toResource } from '../render.ts';
import { etag } from '../repository.ts';
import { readProjectionParameters } from '../request.ts';

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
