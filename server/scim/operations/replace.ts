import type { ResourceOperation } from '../exchange.ts';
import { relatedAttribute } from '../exchange.ts';
import { project, wants } from '../projection.ts';
import { send, toResource } from '../render.ts';
import { etag } from '../repository.ts';
import { readBody, readProjectionParameters } from '../request.ts';

/** RFC 7644 §3.5.1: PUT /Users/{id} replaces the resource; id stays; If-Match is honoured. */
export const replace: ResourceOperation = async ({ ctx, tenantId, base, maxBodyBytes }, repository, id) => {
  const projection = readProjectionParameters(repository.type, ctx.query);
  const body = await readBody(ctx, maxBodyBytes);
  const precondition = ctx.get('If-Match') || undefined;
  const stored = await repository.replace(tenantId, id, body, precondition, wants(projection, relatedAttribute(repository)));
  ctx.set('ETag', etag(stored.version));
  send(ctx, 200, project(toResource(repository.type, stored, base), projection));
};
