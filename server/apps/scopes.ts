/*
 * What a SecureLogin app may ask for. The scopes are OpenID Connect's own;
 * SCIM's scope and resource belong to Entra's provisioning clients only.
 */

/** Every scope an app client may request. */
export const APP_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** The claim naming the tenant's (primary) domain, in every ID token and userinfo answer. */
export const DOMAIN_CLAIM = 'securelogin_domain';

/** oidc-provider's `claims`: which claims each scope releases. */
export const APP_CLAIMS = {
  openid: ['sub', DOMAIN_CLAIM],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  email: ['email'],
};

/** The requested scopes an app is granted: its own ones, in the order asked, nothing else. */
export function grantableScopes(requested: unknown): string[] {
  if (typeof requested !== 'string') return [];
  const allowed = new Set<string>(APP_SCOPES);
  return [...new Set(requested.split(' ').filter((scope) => allowed.has(scope)))];
}

/** The requested claims (the `claims` parameter) an app is granted: those its scopes can release. */
export function grantableClaims(requested: unknown): string[] {
  if (!Array.isArray(requested)) return [];
  const known = new Set(Object.values(APP_CLAIMS).flat());
  return requested.filter((claim): claim is string => typeof claim === 'string' && known.has(claim));
}
