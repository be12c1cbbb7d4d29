import type Koa from 'koa';
import { findUserForSignIn, type Tenant, verifyPassword } from '../directory/index.ts';
import { accountIdFor } from '../oauth/index.ts';
import { accountThrottleKey, addressThrottleKey, type ThrottlePolicy } from '../sessions/index.ts';
import type { SsoSettings } from '../sso/index.ts';
import type { Params } from '../web/i18n.ts';
import { chooseTenant, renderDomain } from './domain.ts';
import { recordStep } from './finished.ts';
import { checkCsrf, type Flow, type FlowParts, field, finish, formOf, openFlow, text } from './flow.ts';
import type { MessageKey } from './locales/en.ts';

/**
 * Guessing limits. Per account: five wrong passwords within 15 minutes pause
 * that account for 15 minutes (or until `securelogin manager unlock`). Per
 * client address: fifty, so one network cannot try many accounts either,
 * while a shared office NAT is not locked out by one person's typos.
 */
export const ACCOUNT_THROTTLE: ThrottlePolicy = { limit: 5, windowSeconds: 15 * 60, lockSeconds: 15 * 60 };
export const ADDRESS_THROTTLE: ThrottlePolicy = { limit: 50, windowSeconds: 15 * 60, lockSeconds: 15 * 60 };

const MAX_USERNAME = 256;
const MAX_PASSWORD = 1024;

/**
 * The flow at its sign-in step, for the tenant the URL names; undefined once
 * the answer is written (flow gone, bad CSRF token on a post, another step due,
 * or a domain that is refused here).
 */
export async function signInStep(ctx: Koa.Context, parts: FlowParts, form?: Record<string, unknown>): Promise<SignInStep | undefined> {
  const flow = await openFlow(ctx, parts);
  if (!flow) return undefined;
  if (form && !checkCsrf(ctx, flow, parts, form)) return undefined;
  if (flow.interaction.prompt.name !== 'login') {
    ctx.status = 303;
    ctx.redirect(flow.path);
    return undefined;
  }
  const choice = await chooseTenant(parts, flow, String(ctx.params.domain ?? ''));
  if (!choice.ok) {
    ctx.status = choice.status;
    renderDomain(ctx, flow, { domain: choice.typed, error: text(ctx)(choice.error, choice.params) });
    return undefined;
  }
  // Off, and never mentioned, without the app registration or the tenant's `sso set`.
  const sso = parts.sso ? await parts.sso.settingsOf(choice.tenant.id) : undefined;
  return { flow, tenant: choice.tenant, domain: choice.domain, sso };
}

export interface SignInStep {
  flow: Flow;
  tenant: Tenant;
  domain: string;
  sso: SsoSettings | undefined;
}

/** GET /oauth/interaction/:uid/login/:domain: the tenant's sign-in form. */
export async function showLogin(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const step = await signInStep(ctx, parts);
  if (step) renderLogin(ctx, step, {});
}

/** POST /oauth/interaction/:uid/login/:domain: checks the password, throttled, and hands the account to the provider. */
export async function submitLogin(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const form = formOf(ctx);
  const step = await signInStep(ctx, parts, form);
  if (!step) return;
  const { flow, tenant } = step;
  const userName = field(form, 'username').trim();
  const password = field(form, 'password');
  const refuse = (status: number, error: MessageKey, params: Params = {}) => {
    ctx.status = status;
    renderLogin(ctx, step, { userName: userName.slice(0, MAX_USERNAME), error: text(ctx)(error, params) });
  };
  if (userName === '' || password === '') return refuse(400, 'login.error.missing');

  const { throttle, log } = parts;
  const accountKey = accountThrottleKey(tenant.id, userName);
  const addressKey = addressThrottleKey(ctx.ip);
  const [account, address] = await Promise.all([throttle.state(accountKey), throttle.state(addressKey)]);
  // A paused account or address is refused before the password is checked,
  // so the answer says nothing about whether the password was right.
  if (address.locked) return locked(ctx, refuse, 'login.error.address_locked', address.retryAfterSeconds);
  if (account.locked) return locked(ctx, refuse, 'login.error.locked', account.retryAfterSeconds);

  const row = userName.length <= MAX_USERNAME ? await findUserForSignIn(parts.db, tenant.id, userName) : undefined;
  // verifyPassword costs the same for unknown users and users without a password.
  const verified = await verifyPassword(password.length <= MAX_PASSWORD ? row?.password_hash : null, password);
  if (!verified || !row) {
    const [accountNow, addressNow] = await Promise.all([
      throttle.failure(accountKey, ACCOUNT_THROTTLE),
      throttle.failure(addressKey, ADDRESS_THROTTLE),
    ]);
    log.info(
      { requestId: ctx.state.requestId, tenantId: tenant.id, ip: ctx.ip, accountFailures: accountNow.failures, locked: accountNow.locked },
      'sign-in failed',
    );
    if (accountNow.locked) return locked(ctx, refuse, 'login.error.locked', accountNow.retryAfterSeconds);
    if (addressNow.locked) return locked(ctx, refuse, 'login.error.address_locked', addressNow.retryAfterSeconds);
    return refuse(400, 'login.error.invalid');
  }
  if (row.active !== 1 || row.sign_in_disabled === 1) {
    log.info({ requestId: ctx.state.requestId, tenantId: tenant.id, userId: row.id }, 'sign-in refused: user disabled');
    return refuse(403, 'login.error.disabled_user');
  }
  if (step.sso?.required && row.role !== 'manager') {
    log.info(
      { requestId: ctx.state.requestId, tenantId: tenant.id, userId: row.id },
      'sign-in refused: password sign-in is off (SSO required)',
    );
    return refuse(403, 'login.error.sso_required');
  }
  await throttle.reset(accountKey);
  log.info(
    { requestId: ctx.state.requestId, tenantId: tenant.id, userId: row.id, clientId: flow.client.id, method: 'password' },
    'signed in',
  );
  recordStep(ctx, flow, 'signed_in');
  await finish(ctx, parts, { login: { accountId: accountIdFor(tenant.id, row.id), remember: false } }, false);
}

function locked(ctx: Koa.Context, refuse: (status: number, error: MessageKey, params: Params) => void, error: MessageKey, seconds: number) {
  ctx.set('Retry-After', String(Math.max(1, seconds)));
  refuse(429, error, { minutes: Math.max(1, Math.ceil(seconds / 60)) });
}

export function renderLogin(ctx: Koa.Context, step: SignInStep, model: { userName?: string; error?: string; ssoError?: string }): void {
  const { flow, tenant, domain, sso } = step;
  ctx.render('interaction/login.njk', {
    sso: sso && { action: `${flow.path}/login/${encodeURIComponent(domain)}/sso`, required: sso.required, error: model.ssoError },
    action: `${flow.path}/login/${encodeURIComponent(domain)}`,
    back: flow.path,
    csrf: flow.csrf,
    tenantName: tenant.name,
    domain,
    userName: model.userName ?? '',
    error: model.error,
    focus: focusOf(model, sso !== undefined),
  });
}

/**
 * Where the cursor starts, without JavaScript (autofocus): after a refusal
 * the password field, which the person retypes (the username is kept), or
 * the username when there is none; else the first thing to do on the page.
 */
function focusOf(model: { userName?: string; error?: string }, sso: boolean): 'username' | 'password' | 'sso' {
  if (model.error) return model.userName ? 'password' : 'username';
  return sso ? 'sso' : 'username';
}
