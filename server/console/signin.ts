import { createHash, randomBytes } from 'node:crypto';
import type Koa from 'koa';
import { parseAccountId, standingOf } from '../oauth/index.ts';
import { CONSOLE_CLIENT_ID, consoleRedirectUri } from './client.ts';
import { CONSOLE_PATH, endSession, startSession } from './session.ts';
import { type ConsoleParts, showMessage } from './view.ts';

/** The state, nonce and PKCE verifier of one sign-in, between /console/login and /console/callback. */
const PENDING_COOKIE = 'slc_console_signin';
const PENDING_MS = 10 * 60_000;

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
}

function pendingOptions(ctx: Koa.Context) {
  return { path: CONSOLE_PATH, httpOnly: true, sameSite: 'lax' as const, signed: true, secure: ctx.secure, overwrite: true };
}

/** GET /console/login: off to the tenant's own sign-in (Go to domain, password or Microsoft) at our provider. */
export async function startSignIn(ctx: Koa.Context, parts: ConsoleParts): Promise<void> {
  const pending: Pending = {
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    verifier: randomBytes(32).toString('base64url'),
  };
  ctx.cookies.set(PENDING_COOKIE, Buffer.from(JSON.stringify(pending)).toString('base64url'), {
    ...pendingOptions(ctx),
    maxAge: PENDING_MS,
  });
  const query = new URLSearchParams({
    client_id: CONSOLE_CLIENT_ID,
    redirect_uri: consoleRedirectUri(parts.config.publicUrl),
    response_type: 'code',
    scope: 'openid',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  ctx.redirect(`/oauth/authorize?${query}`);
}

function readPending(ctx: Koa.Context): Pending | undefined {
  const raw = ctx.cookies.get(PENDING_COOKIE, { signed: true });
  ctx.cookies.set(PENDING_COOKIE, '', { ...pendingOptions(ctx), maxAge: 0 });
  if (!raw) return undefined;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Pending>;
    if (typeof value.state === 'string' && typeof value.nonce === 'string' && typeof value.verifier === 'string') return value as Pending;
  } catch {
    // A cookie this server did not write cannot pass the signature check; nothing else to do.
  }
  return undefined;
}

function idTokenClaims(idToken: unknown): Record<string, unknown> | undefined {
  if (typeof idToken !== 'string') return undefined;
  const payload = idToken.split('.')[1];
  try {
    return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * GET /console/callback: the code traded at our own token endpoint, the ID
 * token read (it comes straight from our provider over the loopback, so its
 * claims are taken as they are; iss, aud and nonce must still match), the
 * tokens revoked (the console needs none), and a console session for an
 * active manager only.
 */
export async function finishSignIn(ctx: Koa.Context, parts: ConsoleParts): Promise<void> {
  const pending = readPending(ctx);
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
  const code = typeof ctx.query.code === 'string' ? ctx.query.code : '';
  if (!pending || state !== pending.state || code === '') {
    parts.log.info(
      { requestId: ctx.state.requestId, error: ctx.query.error, pending: Boolean(pending) },
      'console sign-in did not complete',
    );
    return showMessage(ctx, 400, 'failed', { again: true });
  }
  let answer: Response;
  try {
    answer = await fetch(new URL('/oauth/token', parts.localUrl()), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: consoleRedirectUri(parts.config.publicUrl),
        client_id: CONSOLE_CLIENT_ID,
        code_verifier: pending.verifier,
      }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    parts.log.error({ err: error, requestId: ctx.state.requestId }, 'console sign-in: the token endpoint did not answer');
    return showMessage(ctx, 503, 'unavailable');
  }
  const tokens = (await answer.json().catch(() => ({}))) as { id_token?: unknown; access_token?: unknown; error?: unknown };
  const claims = idTokenClaims(tokens.id_token);
  if (
    !answer.ok ||
    !claims ||
    claims.iss !== parts.config.publicUrl.origin ||
    claims.aud !== CONSOLE_CLIENT_ID ||
    claims.nonce !== pending.nonce
  ) {
    parts.log.warn({ requestId: ctx.state.requestId, status: answer.status, error: tokens.error }, 'console sign-in: code exchange failed');
    return showMessage(ctx, 400, 'failed', { again: true });
  }
  if (typeof tokens.access_token === 'string') await forgetTokens(parts, tokens.access_token);

  const standing = await standingOf(parts.db, claims.sub);
  const account = parseAccountId(claims.sub);
  if (standing.kind !== 'manager' || !account) {
    parts.log.info({ requestId: ctx.state.requestId, standing: standing.kind }, 'console refused: not an active manager');
    const user = 'account' in standing ? standing.account.userName : '';
    const tenant = 'tenant' in standing ? standing.tenant.name : '';
    return showMessage(ctx, 403, 'refused', { again: true, params: { user, tenant } });
  }
  await startSession(ctx, parts.db, account, parts.clock());
  parts.log.info({ requestId: ctx.state.requestId, tenantId: account.tenantId, userId: account.userId }, 'console signed in');
  ctx.redirect(`${CONSOLE_PATH}/connections`);
}

/** The console's grant at our provider serves only the sign-in: it goes at once. */
async function forgetTokens(parts: ConsoleParts, accessToken: string): Promise<void> {
  const token = await parts.provider.AccessToken.find(accessToken);
  if (!token?.grantId) return;
  await new parts.Adapter('AccessToken').revokeByGrantId(token.grantId);
  await new parts.Adapter('Grant').destroy(token.grantId);
}

/** POST /console/logout, behind the manager's session and its CSRF check. */
export async function signOut(ctx: Koa.Context, parts: ConsoleParts): Promise<void> {
  await endSession(ctx, parts.db, ctx.state.console?.session);
  ctx.redirect(`${CONSOLE_PATH}?signed_out=1`);
}
