import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import { INTERACTION_PATH } from '../oauth/index.ts';
import type { Catalogues } from '../web/i18n.ts';
import { showConsent, submitConsent } from './consent.ts';
import { showDomain, submitDomain } from './domain.ts';
import { type FlowParts, whenUnavailable } from './flow.ts';
import { en, type MessageKey } from './locales/en.ts';
import { nl } from './locales/nl.ts';
import { showLogin, submitLogin } from './login.ts';
import { returnFromSso, startSso } from './sso.ts';

export { renderAuthorizeError } from './errors.ts';
export type { FlowParts } from './flow.ts';
export type { MessageKey } from './locales/en.ts';
export { ADDRESS_THROTTLE, DEVICE_THROTTLE, STRANGER_THROTTLE } from './login.ts';
export { refuseUnstorableParameters } from './parameters.ts';
export { ssoRoutes } from './sso.ts';

/** The pages' words, for the i18n middleware. */
export const authorizeCatalogues: Catalogues<MessageKey> = { en, nl };

/**
 * The Authorize flow's pages, in the order a person meets them: Go to domain,
 * the tenant's sign-in, consent. All live under the interaction's path, where
 * the provider's interaction cookie is sent.
 */
export function interactionRoutes(parts: FlowParts): Router {
  const router = new Router({ prefix: `${INTERACTION_PATH}/:uid` });
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  router.use(whenUnavailable(parts));

  router.get('/', (ctx) => showDomain(ctx, parts));
  router.post('/domain', form, (ctx) => submitDomain(ctx, parts));
  router.get('/login/:domain', (ctx) => showLogin(ctx, parts));
  router.post('/login/:domain', form, (ctx) => submitLogin(ctx, parts));
  router.post('/login/:domain/sso', form, (ctx) => startSso(ctx, parts));
  router.get('/login/:domain/sso', (ctx) => startSso(ctx, parts));
  router.get('/sso/return', (ctx) => returnFromSso(ctx, parts));
  router.get('/consent', (ctx) => showConsent(ctx, parts));
  router.post('/consent', form, (ctx) => submitConsent(ctx, parts));
  return router;
}
