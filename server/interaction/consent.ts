import type Koa from 'koa';
import { appRefusal, grantFirstPartyApp } from '../apps/index.ts';
import { SCIM_SCOPE, type Standing, standingOf } from '../oauth/index.ts';
import { recordStep } from './finished.ts';
import { checkCsrf, type Flow, type FlowParts, field, finish, formOf, openFlow, showError, text } from './flow.ts';
import type { MessageKey } from './locales/en.ts';

/** GET /oauth/interaction/:uid/consent: who asks, for which tenant, and what it may do. */
export async function showConsent(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const flow = await openFlow(ctx, parts);
  if (!flow) return;
  if (flow.interaction.prompt.name !== 'consent') {
    ctx.status = 303;
    ctx.redirect(flow.path);
    return;
  }
  if (flow.client.kind === 'app') return grantApp(ctx, parts, flow);
  const standing = await standingOf(parts.db, flow.interaction.session?.accountId);
  const refusal = refusalOf(flow, standing);
  if (refusal) ctx.status = 403;
  renderConsent(ctx, flow, standing, refusal);
}

/** POST /oauth/interaction/:uid/consent: Allow (managers of this tenant only) or Deny. */
export async function submitConsent(ctx: Koa.Context, parts: FlowParts): Promise<void> {
  const flow = await openFlow(ctx, parts);
  if (!flow) return;
  const form = formOf(ctx);
  if (!checkCsrf(ctx, flow, parts, form)) return;
  if (flow.interaction.prompt.name !== 'consent') {
    ctx.status = 303;
    ctx.redirect(flow.path);
    return;
  }
  const decision = field(form, 'decision');
  if (decision === 'deny') {
    parts.log.info({ requestId: ctx.state.requestId, clientId: flow.client.id }, 'access denied by the signed-in user');
    recordStep(ctx, flow, 'denied');
    await finish(ctx, parts, { error: 'access_denied', error_description: 'access was denied on the consent page' }, false);
    return;
  }
  if (decision !== 'allow') {
    showError(ctx, 400, 'request', { detail: 'the form said neither Allow nor Deny' });
    return;
  }
  if (flow.client.kind === 'app') return grantApp(ctx, parts, flow);

  // The directory is read again: the manager may have been disabled or
  // demoted while the page was open.
  const accountId = flow.interaction.session?.accountId;
  const standing = await standingOf(parts.db, accountId);
  const refusal = refusalOf(flow, standing);
  if (refusal || standing.kind !== 'manager' || !accountId) {
    parts.log.warn({ requestId: ctx.state.requestId, clientId: flow.client.id, standing: standing.kind }, 'allow refused');
    ctx.status = 403;
    renderConsent(ctx, flow, standing, refusal ?? 'consent.refused.unknown');
    return;
  }

  const { provider } = parts;
  const grant = flow.interaction.grantId
    ? ((await provider.Grant.find(flow.interaction.grantId)) ?? new provider.Grant({ accountId, clientId: flow.client.id }))
    : new provider.Grant({ accountId, clientId: flow.client.id });
  grant.addResourceScope(parts.resource(), SCIM_SCOPE);
  const details = flow.interaction.prompt.details as { missingOIDCScope?: string[] };
  if (details.missingOIDCScope?.length) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  const grantId = await grant.save();
  parts.log.info(
    { requestId: ctx.state.requestId, clientId: flow.client.id, tenantId: standing.tenant.id, userId: standing.account.id, grantId },
    'access allowed',
  );
  recordStep(ctx, flow, 'allowed');
  await finish(ctx, parts, { consent: { grantId } }, true);
}

/**
 * A SecureLogin app: first-party, registered by the operator, so there is no
 * consent page. Any active user of the tenant goes straight on; anyone else
 * gets the reason, as a manager would on the consent page.
 */
async function grantApp(ctx: Koa.Context, parts: FlowParts, flow: Flow): Promise<void> {
  const accountId = flow.interaction.session?.accountId;
  const standing = await standingOf(parts.db, accountId);
  const refused = appRefusal(standing, flow.client.tenantId);
  if (refused || !accountId) {
    parts.log.warn({ requestId: ctx.state.requestId, clientId: flow.client.id, standing: refused }, 'app sign-in refused');
    ctx.status = 403;
    renderConsent(ctx, flow, standing, `consent.refused.${refused ?? 'unknown'}`);
    return;
  }
  const grantId = await grantFirstPartyApp(parts.provider, flow.interaction, accountId);
  parts.log.info(
    {
      requestId: ctx.state.requestId,
      clientId: flow.client.id,
      tenantId: standing.kind === 'unknown' ? undefined : standing.tenant.id,
      grantId,
    },
    'app signed in',
  );
  recordStep(ctx, flow, 'app');
  await finish(ctx, parts, { consent: { grantId } }, true);
}

function refusalOf(flow: Flow, standing: Standing): MessageKey | undefined {
  switch (standing.kind) {
    case 'unknown':
      return 'consent.refused.unknown';
    case 'disabled_tenant':
      return 'consent.refused.disabled_tenant';
    case 'disabled_user':
      return 'consent.refused.disabled_user';
    case 'not_a_manager':
      return 'consent.refused.not_a_manager';
    case 'manager':
      return flow.client.tenantId !== null && flow.client.tenantId !== standing.tenant.id ? 'consent.refused.other_tenant' : undefined;
  }
}

function renderConsent(ctx: Koa.Context, flow: Flow, standing: Standing, refusal: MessageKey | undefined): void {
  const t = text(ctx);
  const tenant = standing.kind === 'unknown' ? undefined : standing.tenant;
  const account = 'account' in standing ? standing.account : undefined;
  const params = { client: flow.client.name, tenant: tenant?.name ?? '', user: account?.userName ?? '' };
  ctx.render('interaction/consent.njk', {
    action: `${flow.path}/consent`,
    csrf: flow.csrf,
    clientName: flow.client.name,
    tenantName: tenant?.name,
    domain: tenant?.domains[0],
    userName: account?.userName,
    refusal: refusal ? t(refusal, params) : undefined,
    startAgain: startAgainHref(flow),
  });
}

/**
 * A new Authorize with the same request, for someone who signed in with the
 * wrong account. Built from the parameters the provider validated (the
 * registered redirect URI among them), never from anything typed.
 */
function startAgainHref(flow: Flow): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(flow.interaction.params)) {
    if (typeof value === 'string') query.set(name, value);
  }
  return `/oauth/authorize?${query}`;
}
