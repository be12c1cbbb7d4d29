import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Credential } from '../oauth/index.ts';
import { classify } from './operations.ts';
import type { Recorder } from './recorder.ts';

const SCIM_PATH = '/scim/v2';

/** The client, or for a SCIM token (`securelogin token add`) the token's id, which names it in `token list`. */
function clientOf(credential: Credential): string {
  return credential.kind === 'scim_token' ? `scim_token:${credential.token.id}` : credential.client.id;
}

/**
 * For createScim's `answered`: the request as an activity entry, handed to
 * the recorder. A request whose token names no tenant (none, or one this
 * server never issued) belongs to no tenant's record; the access log has it.
 */
export function recordScim(recorder: Recorder, clock: () => number = Date.now): (ctx: Koa.Context) => void {
  return (ctx) => {
    const auth = ctx.state.auth;
    const credential = auth?.credential;
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
      grantId: credential ? (credential.kind === 'authorize' ? credential.grantId : null) : (presented?.grantId ?? null),
      clientId: credential ? clientOf(credential) : (presented?.clientId ?? null),
      requestId: ctx.state.requestId,
      method: ctx.method,
      status: ctx.status,
      ...classified,
    });
  };
}
