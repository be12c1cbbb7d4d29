import type Koa from 'koa';
import { findUserForSignIn, type Tenant, verifyPassword } from '../directory/index.ts';
import { accountIdFor } from '../oauth/index.ts';
import { addressCounter, deviceCounter, strangersCounter, type ThrottleSchedule, type ThrottleState } from '../sessions/index.ts';
import type { SsoSettings } from '../sso/index.ts';
import { isStorableText, showText } from '../store/index.ts';
import type { Params } from '../web/i18n.ts';
import { knownDevice, rememberDevice } from './device.ts';
import { chooseTenant, renderDomain } from './domain.ts';
import { recordStep } from './finished.ts';
import { checkCsrf, type Flow, type FlowParts, field, finish, formOf, openFlow, text } from './flow.ts';
import type { MessageKey } from './locales/en.ts';

/**
 * Guessing limits, each per 15 minutes from an account's or address's first
 * failure. Browsers an account has not signed in from ("strangers") share
 * one counter per account: three failures are free, each one after them
 * makes the next attempt wait (30 s, 1, 2, 4, then 5 minutes), and the tenth
 * pauses strangers until the 15 minutes are over, so at most ten guesses per
 * account per 15 minutes come from unknown browsers. A browser that signed
 * in to the account before (device cookie) has a counter of its own, five
 * failures, and is never paused by strangers. Per client address: fifty, so
 * one network cannot try many accounts either, while a shared office NAT is
 * not locked out by one person's typos.
 */
export const STRANGER_THROTTLE: ThrottleSchedule = { windowSeconds: 15 * 60, free: 3, pauses: [30, 60, 120, 240, 300], limit: 10 };
export const DEVICE_THROTTLE: ThrottleSchedule = { windowSeconds: 15 * 60, free: 4, pauses: [], limit: 5 };
export const ADDRESS_THROTTLE: ThrottleSchedule = { windowSeconds: 15 * 60, free: 49, pauses: [], limit: 50 };

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
  const { flow, tenant, domain } = step;
  const userName = field(form, 'username').trim();
  const password = field(form, 'password');
  const refuse = (status: number, error: MessageKey, params: Params = {}) => {
    ctx.status = status;
    renderLogin(ctx, step, { userName: userName.slice(0, MAX_USERNAME), error: text(ctx)(error, params) });
  };
  if (userName === '' || password === '') return refuse(400, 'login.error.missing');
  // Before the throttle: no account has such a name or password (no store could
  // even look the name up), so it is a typing or pasting mistake, not a guess.
  if (!isStorableText(userName) || !isStorableText(password)) {
    ctx.status = 400;
    renderLogin(ctx, step, {
      userName: showText(userName).slice(0, MAX_USERNAME),
      error: text(ctx)('login.error.characters'),
    });
    return;
  }

  const { throttle, log } = parts;
  const row = userName.length <= MAX_USERNAME ? await findUserForSignIn(parts.db, tenant.id, userName) : undefined;
  const device = row ? knownDevice(ctx, tenant.id, row.id) : undefined;
  const account = device ? deviceCounter(tenant.id, userName, device) : strangersCounter(tenant.id, userName);
  const address = addressCounter(ctx.ip);
  const who = { requestId: ctx.state.requestId, tenantId: tenant.id, tenant: domain, userName: userName.slice(0, MAX_USERNAME) };

  // A blocked address holds strangers back; a browser the account signed in
  // from is held back by its own counter only.
  if (!device) {
    const blocked = await throttle.state(address);
    if (blocked.paused) return paused(ctx, refuse, 'login.error.address_locked', blocked);
  }
  // The attempt is counted before the password is checked, so simultaneous
  // guesses cannot all slip in before the first of them is counted; a paused
  // account is refused unchecked, so the answer says nothing about whether
  // the password was right.
  const attempt = await throttle.attempt(account, device ? DEVICE_THROTTLE : STRANGER_THROTTLE);
  if (!attempt.counted) {
    log.debug({ requestId: ctx.state.requestId, tenantId: tenant.id, device: device !== undefined }, 'sign-in refused: paused');
    return paused(ctx, refuse, device ? 'login.error.device_locked' : 'login.error.locked', attempt);
  }

  // verifyPassword costs the same for unknown users and users without a password.
  const verified = await verifyPassword(password.length <= MAX_PASSWORD ? row?.password_hash : null, password);
  if (!verified || !row) {
    const addressNow = await throttle.attempt(address, ADDRESS_THROTTLE);
    log.info(
      {
        requestId: ctx.state.requestId,
        tenantId: tenant.id,
        ip: ctx.ip,
        device: device !== undefined,
        accountFailures: attempt.failures,
        paused: attempt.paused,
      },
      'sign-in failed',
    );
    // Each pause and block is logged once, by the failure that begins it; the attempts it refuses are not.
    if (addressNow.counted && addressNow.paused) {
      log.warn(
        {
          requestId: ctx.state.requestId,
          ip: ctx.ip,
          failures: addressNow.failures,
          until: new Date(addressNow.pausedUntil!).toISOString(),
        },
        'sign-in blocked for this client address: too many failed attempts',
      );
    }
    if (attempt.paused) {
      const until = new Date(attempt.pausedUntil!).toISOString();
      if (device)
        log.warn({ ...who, failures: attempt.failures, until }, 'sign-in paused for a browser of this account: too many failed attempts');
      else log.warn({ ...who, failures: attempt.failures, until }, 'sign-in paused for this account on browsers it has not signed in from');
      return paused(ctx, refuse, device ? 'login.error.invalid_device_paused' : 'login.error.invalid_paused', attempt);
    }
    if (addressNow.paused && !device) return paused(ctx, refuse, 'login.error.address_locked', addressNow);
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
  await throttle.reset(account);
  rememberDevice(ctx, tenant.id, row.id, device);
  log.info(
    {
      requestId: ctx.state.requestId,
      tenantId: tenant.id,
      userId: row.id,
      clientId: flow.client.id,
      method: 'password',
      device: device !== undefined,
    },
    'signed in',
  );
  recordStep(ctx, flow, 'signed_in');
  await finish(ctx, parts, { login: { accountId: accountIdFor(tenant.id, row.id), remember: false } }, false);
}

/** 429 with Retry-After, and the page saying how long to wait. */
function paused(
  ctx: Koa.Context,
  refuse: (status: number, error: MessageKey, params: Params) => void,
  error: MessageKey,
  state: ThrottleState,
) {
  const seconds = Math.max(1, state.retryAfterSeconds);
  ctx.set('Retry-After', String(seconds));
  refuse(429, error, { wait: waitText(ctx, seconds) });
}

/** "30 seconds", "2 minutes": whole minutes, rounded up, from a minute on. */
function waitText(ctx: Koa.Context, seconds: number): string {
  const t = text(ctx);
  if (seconds < 60) return seconds === 1 ? t('login.wait.second') : t('login.wait.seconds', { count: seconds });
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? t('login.wait.minute') : t('login.wait.minutes', { count: minutes });
}

export function renderLogin(ctx: Koa.Context, step: SignInStep, model: { userName?: string; error?: string; ssoError?: string }): void {
  const { flow, tenant, domain, sso } = step;
  ctx.render('interaction/login.njk', {
    sso: sso && { action: `${flow.path}/login/${encodeURIComponent(domain)}/sso`, required: sso.required, error: model.ssoError },
    action: `${flow.path}/login/${encodeURIComponent(domain)}`,
    // ?choose: the Go to domain page itself, even when the Authorize named a domain_hint.
    back: `${flow.path}?choose`,
    csrf: flow.csrf,
    tenantName: tenant.name,
    // Any user signs in to an app; only managers to Entra's Authorize.
    intro: flow.client.kind === 'app' ? 'login.intro.app' : 'login.intro',
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
