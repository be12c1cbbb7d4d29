import { send } from '../protocol/render.ts';
import type { ResourceOperation } from '../resources/exchange.ts';

/** RFC 7644 §3.6: DELETE → 204; afterwards the id is 404, and a deleted user's memberships are gone with them. */
export const remove: ResourceOperation = async ({ ctx, tenantId }, repository, id) => {
  await repository.remove(tenantId, id, ctx.get('If-Match') || undefined);
  send(ctx, 204);
};
