import { project, wants } from '../protocol/projection.ts';
import { send, toResource } from '../protocol/render.ts';
import { checkBodyText, readBody, readProjectionParameters } from '../protocol/request.ts';
import type { CollectionOperation } from '../resources/exchange.ts';
import { relatedAttribute } from '../resources/exchange.ts';
import { etag } from '../resources/repository.ts';

/** RFC 7644 §3.3: POST /Users, POST /Groups → 201 with Location and the resource. */
export const create: CollectionOperation = async ({ ctx, tenantId, base, maxBodyBytes }, repository) => {
  const projection = readProjectionParameters(repository.type, ctx.query);
  const body = await readBody(ctx, maxBodyBytes);
  checkBodyText(body);
  const stored = await repository.create(tenantId, body, wants(projection, relatedAttribute(repository)));
  const resource = toResource(repository.type, stored, base);
  ctx.set('Location', (resource.meta as { location: string }).location);
  ctx.set('ETag', etag(stored.version));
  send(ctx, 201, project(resource, projection));
};
