import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { classify } from './operations.ts';
import type { Recorder } from './recorder.ts';

const SCIM_PATH = '/scim/v2';

/**
 * For createScim's `answered`: the request as an activity entry, handed to
 * the recorder. A request whose token names no tenant (none, or one this
 * server never issued) belongs to no tenant's record; the access log has it.
 */
export function recordScim(recorder: Recorder, clock: () => number = Date.now): (ctx: Koa.Context) => void {
  return (ctx) => {
    const auth = ctx.state.auth;
    const presented = ctx.state.presentedToken;
    const tenantId = auth?.tenant.id ?? presented?.tenantId;
    if (!tenantId) return;
    const filter = typeof ctx.query.filter === 'string' ? ctx.query.filter : undefined;
    const classified = classify({
      method: ctx.method,
      path: ctx.path.slice(SCIM_PATH.length),
      filter,
      body: ctx.state.scimBody,
      answer: ctx.state.scimAnswer,
      status: ctx.status,
    });
    recorder.record({
      id: randomUUID(),
      tenantId,
      at: new Date(clock()).toISOString(),
      grantId: auth?.grantId ?? presented?.grantId ?? null,
      clientId: auth?.client.id ?? presented?.clientId ?? null,
      requestId: ctx.state.requestId,
      method: ctx.method,
      status: ctx.status,
      ...classified,
    });
  };
}
