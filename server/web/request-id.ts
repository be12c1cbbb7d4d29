import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';

// A proxy's id is kept when it looks like one, so a request can be followed
// across hops; anything else is replaced, never echoed (log injection).
const SAFE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestId(): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    const id = SAFE_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    await next();
  };
}
