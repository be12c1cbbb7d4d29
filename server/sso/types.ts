/** A tenant's single sign-on, as `securelogin sso set` left it. */
export interface SsoSettings {
  tenantId: string;
  /** The Entra tenant id (lower-case GUID): the only `tid`, and the only issuer's tenant, trusted. */
  entraTenantId: string;
  /** Password sign-in is off for everyone but managers (their break-glass). */
  required: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What the ID token of a checked Entra sign-in says about the person. */
export interface EntraPerson {
  tid: string;
  oid: string;
  /** The UPN at sign-in time: used to find the user on the first sign-in only. */
  preferredUsername: string | undefined;
  name: string | undefined;
}

/**
 * Why a sign-in with Microsoft ended without a user. The sign-in page turns
 * each into a sentence the person can act on.
 */
export type SsoRefusal =
  /** The state is unknown, used already, or too old. */
  | 'expired'
  /** The tenant turned SSO off (or the deployment has no app registration) meanwhile. */
  | 'off'
  | 'access_denied'
  | 'cancelled'
  | 'interaction_required'
  | 'login_required'
  | 'consent_required'
  /** Entra answered with another error. */
  | 'entra_error'
  /** The ID token came from another Entra tenant than the one this tenant is pinned to. */
  | 'wrong_tenant'
  /** The answer did not check out (nonce, signature, code exchange). */
  | 'failed'
  /** Entra could not be reached. */
  | 'unreachable'
  /** No user of the tenant matches this Entra account: Entra has not provisioned it. */
  | 'not_provisioned'
  /** The first sign-in matched more than one user, or a user linked to another Entra account. */
  | 'ambiguous'
  /** The matching user is inactive (SCIM active false) or disabled by the operator. */
  | 'disabled_user';

export type SsoOutcome =
  | { ok: true; tenantId: string; domain: string; userId: string; person: EntraPerson; firstLink: boolean }
  | { ok: false; refusal: SsoRefusal; domain: string | undefined; tenantId: string | undefined };
