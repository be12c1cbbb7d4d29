import Router from '@koa/router';
import type Koa from 'koa';
import { accountIdFor, INTERACTION_PATH } from '../oauth/index.ts';
import { SSO_CALLBACK_PATH, type SsoRefusal } from '../sso/index.ts';
import { recordStep } from './finished.ts';
import { type FlowParts, finish, formOf, openFlow, showError, text } from './flow.ts';
import type { MessageKey } from './locales/en.ts';
import { renderLogin, signInStep } from './login.ts';

/*
 * Sign in with Microsoft, as a step of the Authorize flow: the tenant's
 * sign-in page sends the browser to its Entra tenant, Entra sends it back to
 * /sso/callback, and that routes it to this interaction's return page, where
 * the provider's interaction cookie proves it is the same browser.
 */

const REFUSAL_STATUS: Record<SsoRefusal, number> = {
  expired: 400,
  off: 403,
  access_denied: 403,
  cancelled: 400,
  interaction_required: 400,
  login_required: 400,
  consent_required: 403,
  entra_error: 502,
  wrong_tenant: 403,
  failed: 400,
  unreachable: 502,
  not_provisioned: 403,
  ambiguous: 403,
  disabled_user: 403,
};

/** POST /oauth/interaction/:uid/login/:domain/sso: off to the tenant's Entra tenant. */
export async function startSso(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const step = await signInStep(ctx, parts, formOf(ctx));
  if (!step) return;
  if (!parts.sso || !step.sso) {
    ctx.status = 303;
    ctx.redirect(`${step.flow.path}/login/${encodeURIComponent(step.domain)}`);
    return;
  }
  const loginHint = step.flow.interaction.params.login_hint;
  let url: URL;
  try {
    url = await parts.sso.begin({
      tenantId: step.tenant.id,
      domain: step.domain,
      interactionUid: step.flow.uid,
      loginHint: typeof loginHint === 'string' && loginHint.length <= 256 ? loginHint : undefined,
    });
  } catch (error) {
    parts.log.warn({ err: error, requestId: ctx.state.requestId, tenantId: step.tenant.id }, 'sso sign-in could not start');
    ctx.status = 502;
    renderLogin(ctx, step, { ssoError: text(ctx)('sso.error.unreachable') });
    return;
  }
  ctx.status = 303;
  ctx.redirect(url.toString());
}

/** GET /oauth/interaction/:uid/sso/return: Entra's answer, checked; the user signed in, or the sign-in page says why not. */
export async function returnFromSso(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const flow = await openFlow(ctx, parts);
  if (!flow) return;
  if (!parts.sso) {
    showError(ctx, 400, 'sso_expired');
    return;
  }
  const outcome = await parts.sso.complete({
    interactionUid: flow.uid,
    query: new URLSearchParams(ctx.querystring),
    requestId: ctx.state.requestId,
  });
  if (outcome.ok) {
    if (flow.interaction.prompt.name !== 'login') {
      ctx.status = 303;
      ctx.redirect(flow.path);
      return;
    }
    parts.log.info(
      { requestId: ctx.state.requestId, tenantId: outcome.tenantId, userId: outcome.userId, clientId: flow.client.id, method: 'sso' },
      'signed in',
    );
    recordStep(ctx, flow, 'signed_in');
    await finish(ctx, parts, { login: { accountId: accountIdFor(outcome.tenantId, outcome.userId), remember: false } }, false);
    return;
  }
  if (!outcome.domain) {
    showError(ctx, 400, 'sso_expired');
    return;
  }
  // Back on the tenant's sign-in page (its URL names the domain), with the reason.
  ctx.params.domain = outcome.domain;
  const step = await signInStep(ctx, parts);
  if (!step) return;
  ctx.status = REFUSAL_STATUS[outcome.refusal];
  renderLogin(ctx, step, { ssoError: text(ctx)(`sso.error.${outcome.refusal}` as MessageKey) });
}

/**
 * GET /sso/callback, the redirect URI registered in Entra: outside the
 * interaction's path, so the provider's cookie is not sent here. The state
 * names the interaction; the browser is sent on to it, and is checked there.
 */
export function ssoCallbackRoutes(parts: FlowParts): Router {
  const router = new Router();
  router.get(SSO_CALLBACK_PATH, async (ctx) => {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const uid = parts.sso && state !== '' && state.length <= 200 ? await parts.sso.interactionOf(state) : undefined;
    if (!uid) {
      parts.log.info({ requestId: ctx.state.requestId }, 'sso callback refused: state unknown, used already or expired');
      showError(ctx, 400, 'sso_expired');
      return;
    }
    ctx.status = 303;
    ctx.redirect(`${INTERACTION_PATH}/${encodeURIComponent(uid)}/sso/return?${ctx.querystring}`);
  });
  return router;
}
