import type Koa from 'koa';
import { errors } from 'oidc-provider';
import type { RenderError } from '../oauth/index.ts';
import { type ErrorKind, showError } from './flow.ts';

/**
 * The provider's error page for the Authorize flow (unknown client, a redirect
 * URI that is not registered, an expired interaction, a malformed request).
 * The provider calls it only when it must not redirect to the client, so this
 * page never links anywhere the request named.
 */
export const renderAuthorizeError: RenderError = async (ctx, out, error) => {
  const status = ctx.status >= 400 && ctx.status < 600 ? ctx.status : 400;
  showError(ctx as unknown as Koa.Context, status, kindOf(out.error, error), { detail: detailOf(out) });
};

function kindOf(code: string, error: Error): ErrorKind {
  if (error instanceof errors.SessionNotFound) return 'expired';
  if (code === 'invalid_client') return 'unknown_client';
  if (code === 'invalid_redirect_uri') return 'redirect_uri';
  if (code === 'temporarily_unavailable') return 'unavailable';
  if (code === 'server_error') return 'server';
  return 'request';
}

function detailOf(out: { error: string; error_description?: string }): string {
  const detail = out.error_description ?? out.error;
  return detail.replace(/[.\s]+$/, '').slice(0, 300);
}
