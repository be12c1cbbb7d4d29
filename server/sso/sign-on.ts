import type { Kysely } from 'kysely';
import { type Client, listClients } from '../directory/index.ts';
import type { Database } from '../store/index.ts';

/*
 * The sign-on URL: what Entra's My Apps opens when a person clicks the
 * SecureLogin tile. My Apps opens a fixed URL, so it cannot carry the state,
 * nonce and code_challenge an app makes per sign-in. We serve it: it names
 * the tenant (and, where the tenant has several apps, the app) and starts the
 * app's Authorize with the tenant's domain_hint. Only confidential apps can be
 * launched so: they prove the code with their secret, PKCE is optional for
 * them; a public app must use PKCE and so must start its sign-in itself.
 */

export const SIGN_ON_PATH = '/sso/start';

/** The scopes a launch from My Apps asks for: the app's profile claims, no refresh token. */
const LAUNCH_SCOPE = 'openid profile email';

/** The sign-on URL of a tenant, naming the app when the tenant has several. */
export function signOnUrl(publicUrl: URL, domain: string, clientId?: string): string {
  const query = new URLSearchParams({ domain });
  if (clientId) query.set('client_id', clientId);
  return `${publicUrl.origin}${SIGN_ON_PATH}?${query}`;
}

/** The Authorize a sign-on URL sends the browser to: the app's first redirect URI, the tenant as domain_hint. */
export function launchPath(client: Client, domain: string): string {
  const query = new URLSearchParams({
    client_id: client.id,
    redirect_uri: client.redirectUris[0],
    response_type: 'code',
    scope: LAUNCH_SCOPE,
    domain_hint: domain,
  });
  return `/oauth/authorize?${query.toString().replaceAll('+', '%20')}`;
}

/** The apps a sign-on URL can launch for this tenant: confidential apps bound to it, then those for any tenant. */
export async function launchableApps(db: Kysely<Database>, tenantId: string): Promise<Client[]> {
  const apps = (await listClients(db)).filter((c) => c.kind === 'app' && !c.isPublic);
  return [...apps.filter((c) => c.tenantId === tenantId), ...apps.filter((c) => c.tenantId === null)];
}

export type LaunchChoice =
  | { ok: true; client: Client; defaulted: boolean }
  | {
      ok: false;
      /** none: no confidential app for the tenant; several: the URL must name one; unknown: it names no launchable app. */
      reason: 'none' | 'several' | 'unknown';
    };

/**
 * The app a sign-on URL launches: the one it names, else the tenant's only
 * app (one bound to the tenant before one for any tenant).
 */
export async function chooseLaunch(db: Kysely<Database>, tenantId: string, clientId: string | undefined): Promise<LaunchChoice> {
  const apps = await launchableApps(db, tenantId);
  if (clientId !== undefined) {
    const named = apps.find((c) => c.id === clientId);
    return named ? { ok: true, client: named, defaulted: false } : { ok: false, reason: 'unknown' };
  }
  const bound = apps.filter((c) => c.tenantId === tenantId);
  const candidates = bound.length ? bound : apps;
  if (candidates.length === 0) return { ok: false, reason: 'none' };
  if (candidates.length > 1) return { ok: false, reason: 'several' };
  return { ok: true, client: candidates[0], defaulted: true };
}

/** What `sso show` prints: the default sign-on URL (when there is one app to launch) and one per app. */
export async function signOnUrls(db: Kysely<Database>, publicUrl: URL, tenantId: string, domain: string) {
  const apps = await launchableApps(db, tenantId);
  const fallback = await chooseLaunch(db, tenantId, undefined);
  return {
    signOnUrl: fallback.ok ? signOnUrl(publicUrl, domain) : null,
    apps: apps.map((client) => ({
      client_id: client.id,
      name: client.name,
      tenant: client.tenantId === null ? null : domain,
      sign_on_url: signOnUrl(publicUrl, domain, client.id),
      launches: `${publicUrl.origin}${launchPath(client, domain)}`,
    })),
  };
}
