import { project, wants } from '../protocol/projection.ts';
import { send, toResource } from '../protocol/render.ts';
import { checkBodyText, readBody, readProjectionParameters } from '../protocol/request.ts';
import type { ResourceOperation } from '../resources/exchange.ts';
import { relatedAttribute } from '../resources/exchange.ts';
import { etag } from '../resources/repository.ts';

/** RFC 7644 §3.5.1: PUT /Users/{id} replaces the resource; id stays; If-Match is honoured. */
export const replace: ResourceOperation = async ({ ctx, tenantId, base, maxBodyBytes }, repository, id) => {
  const projection = readProjectionParameters(repository.type, ctx.query);
  const body = await readBody(ctx, maxBodyBytes);
  checkBodyText(body);
  const precondition = ctx.get('If-Match') || undefined;
  const stored = await repository.replace(tenantId, id, body, precondition, wants(projection, relatedAttribute(repository)));
  ctx.set('ETag', etag(stored.version));
  send(ctx, 200, project(toResource(repository.type, stored, base), projection));
};
