import type Koa from 'koa';
import { findTenantByDomain, findTenantById, normaliseDomain, type Tenant } from '../directory/index.ts';
import { INTERACTION_PATH } from '../oauth/index.ts';
import { isStorableText, showText } from '../store/index.ts';
import type { Params } from '../web/i18n.ts';
import { checkCsrf, type Flow, type FlowParts, field, formOf, openFlow, text } from './flow.ts';
import type { MessageKey } from './locales/en.ts';

/** The domain last used in this browser, offered again next time (a convenience only; never trusted). */
const LAST_DOMAIN_COOKIE = 'slc_last_domain';
const LAST_DOMAIN_DAYS = 365;

export type TenantChoice =
  | { ok: true; tenant: Tenant; domain: string }
  | { ok: false; status: number; error: MessageKey; params: Params; typed: string };

/**
 * The tenant a typed domain names, if this client may go there. Used by the
 * Go to domain form and again by the login page, whose URL carries the domain.
 */
export async function chooseTenant(parts: FlowParts, flow: Flow, typed: string): Promise<TenantChoice> {
  const refuse = (status: number, error: MessageKey, params: Params = {}): TenantChoice => ({ ok: false, status, error, params, typed });
  if (typed.trim() === '') return refuse(400, 'domain.error.empty');
  // Shown escaped, in the message and back in the field: the page carries no NUL or half character.
  if (!isStorableText(typed)) {
    const shown = showText(typed.trim()).slice(0, 100);
    return { ok: false, status: 400, error: 'domain.error.invalid', params: { domain: shown }, typed: shown };
  }
  let domain: string;
  try {
    domain = normaliseDomain(typed);
  } catch {
    return refuse(400, 'domain.error.invalid', { domain: typed.trim().slice(0, 100) });
  }
  const tenant = await findTenantByDomain(parts.db, domain);
  if (flow.client.tenantId !== null && tenant?.id !== flow.client.tenantId) {
    const bound = await findTenantById(parts.db, flow.client.tenantId);
    return refuse(403, 'domain.error.bound', { client: flow.client.name, expected: bound?.domains[0] ?? '' });
  }
  if (!tenant) return refuse(404, 'domain.error.unknown', { domain });
  if (tenant.disabled) return refuse(403, 'domain.error.disabled', { domain });
  return { ok: true, tenant, domain };
}

/** GET /oauth/interaction/:uid: the flow's entry. Go to domain, or consent when the provider asks for it. */
export async function showDomain(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const flow = await openFlow(ctx, parts);
  if (!flow) return;
  if (flow.interaction.prompt.name === 'consent') {
    ctx.status = 303;
    ctx.redirect(`${flow.path}/consent`);
    return;
  }
  const hint = flow.interaction.params.domain_hint;
  // A sign-on URL names the tenant: straight on to its sign-in page, unless
  // the person came back from there to choose another domain.
  if (typeof hint === 'string' && hint.trim() !== '' && ctx.query.choose === undefined) {
    const choice = await chooseTenant(parts, flow, hint.slice(0, MAX_DOMAIN_HINT));
    if (choice.ok) {
      // Where SSO is required, straight on to Microsoft. A manager's password
      // (break-glass) stays on the sign-in page: Microsoft's refusals and
      // cancels come back there, and so does an Authorize without domain_hint.
      const sso = parts.sso ? await parts.sso.settingsOf(choice.tenant.id) : undefined;
      ctx.status = 303;
      ctx.redirect(`${flow.path}/login/${encodeURIComponent(choice.domain)}${sso?.required ? '/sso' : ''}`);
      return;
    }
    ctx.status = choice.status;
    renderDomain(ctx, flow, { domain: choice.typed, error: text(ctx)(choice.error, choice.params) });
    return;
  }
  renderDomain(ctx, flow, { domain: await prefill(ctx, parts, flow) });
}

/** Longer than any domain name (253); a longer hint is cut before it is judged and shown. */
const MAX_DOMAIN_HINT = 300;

/** POST /oauth/interaction/:uid/domain: on to the tenant's login page, or back with a reason. */
export async function submitDomain(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const flow = await openFlow(ctx, parts);
  if (!flow) return;
  const form = formOf(ctx);
  if (!checkCsrf(ctx, flow, parts, form)) return;
  const choice = await chooseTenant(parts, flow, field(form, 'domain'));
  if (!choice.ok) {
    ctx.status = choice.status;
    renderDomain(ctx, flow, { domain: choice.typed, error: text(ctx)(choice.error, choice.params) });
    return;
  }
  ctx.cookies.set(LAST_DOMAIN_COOKIE, choice.domain, {
    path: INTERACTION_PATH,
    httpOnly: true,
    sameSite: 'lax',
    signed: true,
    overwrite: true,
    maxAge: LAST_DOMAIN_DAYS * 86_400_000,
  });
  ctx.status = 303;
  ctx.redirect(`${flow.path}/login/${encodeURIComponent(choice.domain)}`);
}

export function renderDomain(ctx: Koa.Context, flow: Flow, model: { domain: string; error?: string }): void {
  ctx.render('interaction/domain.njk', {
    action: `${flow.path}/domain`,
    csrf: flow.csrf,
    clientName: flow.client.name,
    domain: model.domain,
    error: model.error,
  });
}

async function prefill(ctx: Koa.Context, parts: FlowParts, flow: Flow): Promise<string> {
  if (flow.client.tenantId !== null) {
    const tenant = await findTenantById(parts.db, flow.client.tenantId);
    return tenant?.domains[0] ?? '';
  }
  const last = ctx.cookies.get(LAST_DOMAIN_COOKIE, { signed: true });
  if (!last) return '';
  try {
    return normaliseDomain(last);
  } catch {
    return '';
  }
}
