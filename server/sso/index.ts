import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../store/index.ts';
import { linkedUser } from './links.ts';
import { interactionOfState, savePending, takePending } from './pending.ts';
import { RelyingParty, SignInRefused } from './relying-party.ts';
import { ssoSettingsOf } from './settings.ts';
import type { SsoOutcome, SsoRefusal, SsoSettings } from './types.ts';

export { findSso, InvalidEntraTenant, normaliseEntraTenantId, SsoNotSet, setSso, ssoOff, ssoSettingsOf } from './settings.ts';
export { chooseLaunch, type LaunchChoice, launchPath, SIGN_ON_PATH, signOnUrl, signOnUrls } from './sign-on.ts';
export type { EntraPerson, SsoOutcome, SsoRefusal, SsoSettings } from './types.ts';

/** Where Entra sends the browser back; the redirect URI to register in the app registration. */
export const SSO_CALLBACK_PATH = '/sso/callback';

export function ssoRedirectUri(publicUrl: URL): string {
  return `${publicUrl.origin}${SSO_CALLBACK_PATH}`;
}

/** Errors Entra sends back to the redirect URI that a person can do something about. */
const ENTRA_ERRORS: Record<string, SsoRefusal> = {
  access_denied: 'access_denied',
  interaction_required: 'interaction_required',
  login_required: 'login_required',
  consent_required: 'consent_required',
};

/** Single sign-on with Microsoft Entra ID for the tenants that turned it on. */
export interface Sso {
  /** The tenant's SSO settings when it is on for this tenant. */
  settingsOf(tenantId: string): Promise<SsoSettings | undefined>;
  /** Starts a sign-in for this interaction: the Entra URL to send the browser to. */
  begin(input: { tenantId: string; domain: string; interactionUid: string; loginHint?: string }): Promise<URL>;
  /** The interaction a returning state belongs to (not using the state up). */
  interactionOf(state: string): Promise<string | undefined>;
  /** Finishes the sign-in Entra sent back (its query string) for this interaction: the user, or why not. */
  complete(input: { interactionUid: string; query: URLSearchParams; requestId: string }): Promise<SsoOutcome>;
}

export function createSso(parts: { config: Config; db: Kysely<Database>; log: Logger }): Sso | undefined {
  const { config, db } = parts;
  if (!config.entra) return undefined;
  const log = parts.log.child({ part: 'sso' });
  const redirectUri = () => ssoRedirectUri(config.publicUrl);
  const rp = new RelyingParty(config.entra, redirectUri);

  return {
    settingsOf: (tenantId) => ssoSettingsOf(db, tenantId),

    async begin({ tenantId, domain, interactionUid, loginHint }) {
      const settings = await ssoSettingsOf(db, tenantId);
      if (!settings) throw new SignInRefused('off', 'single sign-on is off for this tenant');
      const authorization = await rp.authorization(settings.entraTenantId, { domainHint: domain, loginHint });
      await savePending(db, {
        state: authorization.state,
        interactionUid,
        tenantId,
        domain,
        nonce: authorization.nonce,
        codeVerifier: authorization.codeVerifier,
      });
      return authorization.url;
    },

    interactionOf: (state) => interactionOfState(db, state),

    async complete({ interactionUid, query, requestId }) {
      const refuse = (refusal: SsoRefusal, where: { domain?: string; tenantId?: string } = {}, detail?: string): SsoOutcome => {
        log.info({ requestId, tenantId: where.tenantId, refusal, detail }, 'sso sign-in refused');
        return { ok: false, refusal, domain: where.domain, tenantId: where.tenantId };
      };
      const state = query.get('state');
      const pending = state ? await takePending(db, state, interactionUid) : undefined;
      if (!pending) return refuse('expired', {}, 'state unknown, used already or expired');
      const where = { domain: pending.domain, tenantId: pending.tenantId };

      const error = query.get('error');
      if (error !== null) {
        // Entra's own code for "the person closed the sign-in": access_denied with error_subcode=cancel.
        const refusal = query.get('error_subcode') === 'cancel' ? 'cancelled' : (ENTRA_ERRORS[error] ?? 'entra_error');
        return refuse(refusal, where, `entra: ${error.slice(0, 64)} ${(query.get('error_description') ?? '').slice(0, 300)}`);
      }
      const settings = await ssoSettingsOf(db, pending.tenantId);
      if (!settings) return refuse('off', where);

      const callback = new URL(redirectUri());
      for (const [name, value] of query) callback.searchParams.append(name, value);
      let person: Awaited<ReturnType<RelyingParty['complete']>>;
      try {
        person = await rp.complete(settings.entraTenantId, callback, pending);
      } catch (error) {
        if (!(error instanceof SignInRefused)) throw error;
        return refuse(error.refusal, where, error.message);
      }
      const link = await linkedUser(db, pending.tenantId, person);
      if (!link.ok) return refuse(link.refusal, where, `tid ${person.tid} oid ${person.oid}${link.userId ? ` user ${link.userId}` : ''}`);
      if (link.firstLink)
        log.info({ requestId, tenantId: pending.tenantId, userId: link.userId, tid: person.tid, oid: person.oid }, 'sso account linked');
      return { ok: true, tenantId: pending.tenantId, domain: pending.domain, userId: link.userId, person, firstLink: link.firstLink };
    },
  };
}
