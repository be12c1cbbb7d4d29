/*
 * SecureLogin's own apps (the web app, the browser extension, the desktop
 * clients) as OpenID Connect clients of our provider: which scopes and claims
 * they get, who may sign in to them, and the grant that replaces a consent
 * page for these first-party clients.
 */
export { type AppClaims, appClaims } from './claims.ts';
export { grantFirstPartyApp } from './grant.ts';
export { APP_CLAIMS, APP_SCOPES, DOMAIN_CLAIM, grantableScopes } from './scopes.ts';
export { appRefusal } from './standing.ts';
