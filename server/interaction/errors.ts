import type Koa from 'koa';
import { errors } from 'oidc-provider';
import type { RenderError } from '../oauth/index.ts';
import { preferLanguage } from '../web/i18n.ts';
import { type ErrorKind, showError } from './flow.ts';

/**
 * The provider's error page for the Authorize flow (unknown client, a redirect
 * URI that is not registered, an expired interaction, a malformed request).
 * The provider calls it only when it must not redirect to the client, so this
 * page never links anywhere the request named. The OAuth error code picks
 * one of our own sentences, in the visitor's language; the provider's English
 * error_description is shown on an English page only, as a detail.
 */
export const renderAuthorizeError: RenderError = async (ctx, out, error) => {
  const status = ctx.status >= 400 && ctx.status < 600 ? ctx.status : 400;
  const koa = ctx as unknown as Koa.Context;
  preferLanguage(koa, (ctx.oidc?.params as Record<string, unknown> | undefined)?.ui_locales);
  const kind = kindOf(out.error, error);
  showError(koa, status, kind, { detail: kind === 'server' || kind === 'unavailable' ? undefined : detailOf(out) });
};

function kindOf(code: string, error: Error): ErrorKind {
  if (error instanceof errors.SessionNotFound) return 'expired';
  switch (code) {
    case 'invalid_client':
      return 'unknown_client';
    case 'invalid_redirect_uri':
      return 'redirect_uri';
    case 'unsupported_response_type':
    case 'unsupported_response_mode':
    case 'request_not_supported':
    case 'request_uri_not_supported':
    case 'registration_not_supported':
      return 'unsupported';
    case 'invalid_scope':
    case 'invalid_target':
      return 'scope';
    case 'unauthorized_client':
      return 'unauthorized_client';
    case 'access_denied':
      return 'access_denied';
    case 'temporarily_unavailable':
      return 'unavailable';
    case 'server_error':
      return 'server';
    default:
      return 'request';
  }
}

function detailOf(out: { error: string; error_description?: string }): string {
  const detail = out.error_description ?? out.error;
  return detail.replace(/[.\s]+$/, '').slice(0, 300);
}
