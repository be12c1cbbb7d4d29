import Router from '@koa/router';
import type Koa from 'koa';
import { findTenantByDomain, normaliseDomain, type Tenant } from '../directory/index.ts';
import { accountIdFor, INTERACTION_PATH } from '../oauth/index.ts';
import { chooseLaunch, launchPath, SIGN_ON_PATH, SSO_CALLBACK_PATH, type SsoRefusal } from '../sso/index.ts';
import { isStorableText, showText } from '../store/index.ts';
import { recordStep } from './finished.ts';
import { type FlowParts, finish, formOf, openFlow, showError, text, whenUnavailable } from './flow.ts';
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

/**
 * POST /oauth/interaction/:uid/login/:domain/sso (the button): off to the
 * tenant's Entra tenant. Also GET, without a form, where the Go to domain page
 * sends a domain_hint of a tenant that requires SSO: starting a sign-in
 * changes nothing, and only the browser holding the interaction can go on.
 */
export async function startSso(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const step = await signInStep(ctx, parts, ctx.method === 'POST' ? formOf(ctx) : undefined);
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
 * GET /sso/start?domain=<domain>[&client_id=<app>], the sign-on URL pasted in
 * Entra (My Apps): the tenant's SecureLogin app's Authorize, with the domain
 * as domain_hint, so the person goes straight to the tenant's sign-in (or to
 * Microsoft, where SSO is required). Only a confidential app can be launched
 * so: My Apps cannot make a code_challenge (server/sso/sign-on.ts).
 */
async function launchApp(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const typed = typeof ctx.query.domain === 'string' ? ctx.query.domain.slice(0, 300) : '';
  const found = await tenantOf(parts, typed);
  if (!found) {
    showError(ctx, 404, 'sign_on_tenant', { params: { domain: showText(typed.trim()).slice(0, 100) } });
    return;
  }
  const { tenant, domain } = found;
  const named = typeof ctx.query.client_id === 'string' ? ctx.query.client_id.slice(0, 200) : undefined;
  const choice = await chooseLaunch(parts.db, tenant.id, named);
  if (!choice.ok) {
    parts.log.info({ requestId: ctx.state.requestId, tenantId: tenant.id, reason: choice.reason }, 'sign-on URL refused: no app to launch');
    showError(ctx, choice.reason === 'several' ? 400 : 404, `sign_on_${choice.reason}`, { params: { domain } });
    return;
  }
  ctx.status = 303;
  ctx.redirect(launchPath(choice.client, domain));
}

/** The tenant a sign-on URL names; undefined for a domain that cannot be one or that no tenant has. */
async function tenantOf(parts: FlowParts, typed: string): Promise<{ tenant: Tenant; domain: string } | undefined> {
  if (typed.trim() === '' || !isStorableText(typed)) return undefined;
  let domain: string;
  try {
    domain = normaliseDomain(typed);
  } catch {
    return undefined;
  }
  const tenant = await findTenantByDomain(parts.db, domain);
  return tenant ? { tenant, domain } : undefined;
}

/**
 * GET /sso/callback, the redirect URI registered in Entra: outside the
 * interaction's path, so the provider's cookie is not sent here. The state
 * names the interaction; the browser is sent on to it, and is checked there.
 * And GET /sso/start, the sign-on URL.
 */
export function ssoRoutes(parts: FlowParts): Router {
  const router = new Router();
  router.use(whenUnavailable(parts));
  router.get(SIGN_ON_PATH, (ctx) => launchApp(ctx, parts));
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
