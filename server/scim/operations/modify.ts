import { readPatch } from '../protocol/patch.ts';
import { project, wants } from '../protocol/projection.ts';
import { send, toResource } from '../protocol/render.ts';
import { checkBodyText, readBody, readProjectionParameters } from '../protocol/request.ts';
import type { ResourceOperation } from '../resources/exchange.ts';
import { relatedAttribute } from '../resources/exchange.ts';
import { etag } from '../resources/repository.ts';

/**
 * RFC 7644 §3.5.2: PATCH. A user comes back whole (Microsoft's examples
 * show 200 with the user). A group answers 204, as Microsoft advises, unless
 * the request asks for attributes: a group's member list can be large.
 */
export const modify: ResourceOperation = async ({ ctx, tenantId, base, maxBodyBytes }, repository, id) => {
  const projection = readProjectionParameters(repository.type, ctx.query);
  const body = await readBody(ctx, maxBodyBytes);
  checkBodyText(body);
  const operations = readPatch(repository.type, body);
  const precondition = ctx.get('If-Match') || undefined;
  const quiet = repository.type.name === 'Group' && !projection.attributes && !projection.excluded;
  const related = !quiet && wants(projection, relatedAttribute(repository));
  const stored = await repository.modify(tenantId, id, operations, precondition, related);
  ctx.set('ETag', etag(stored.version));
  if (quiet) send(ctx, 204);
  else send(ctx, 200, project(toResource(repository.type, stored, base), projection));
};
