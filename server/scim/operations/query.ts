import { project, wants } from '../protocol/projection.ts';
import { listResponse, send, toResource } from '../protocol/render.ts';
import { readBody, readListParameters, searchParameters } from '../protocol/request.ts';
import type { CollectionOperation, Exchange } from '../resources/exchange.ts';
import { relatedAttribute } from '../resources/exchange.ts';
import type { Repository } from '../resources/repository.ts';

/**
 * RFC 7644 §3.4.2: GET /Users?filter=…&startIndex=…&count=… → ListResponse.
 * Entra's Test Connection is `filter=userName eq "<random guid>"`: an empty
 * list, 200. Query parameters SCIM does not define (aadOptscim062020) are ignored.
 */
export const query: CollectionOperation = async (exchange, repository) => {
  await answer(exchange, repository, exchange.ctx.query);
};

/** RFC 7644 §3.4.3: POST /Users/.search with a SearchRequest body, so a filter need not travel in the URL. */
export const search: CollectionOperation = async (exchange, repository) => {
  await answer(exchange, repository, searchParameters(await readBody(exchange.ctx, exchange.maxBodyBytes)));
};

async function answer({ ctx, tenantId, base }: Exchange, repository: Repository, parameters: Record<string, unknown>): Promise<void> {
  const { projection, ...page } = readListParameters(repository.type, parameters);
  const { total, resources } = await repository.list(tenantId, page, wants(projection, relatedAttribute(repository)));
  const shaped = resources.map((stored) => project(toResource(repository.type, stored, base), projection));
  send(ctx, 200, listResponse(shaped, total, page.startIndex));
}
