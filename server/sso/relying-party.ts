import { decodeProtectedHeader } from 'jose';
import * as openid from 'openid-client';
import type { EntraConfig } from '../config.ts';
import type { EntraPerson, SsoRefusal } from './types.ts';

/** Discovery documents are kept this long per Entra tenant; Microsoft changes them rarely. */
const DISCOVERY_TTL_MS = 24 * 60 * 60_000;
const TIMEOUT_SECONDS = 10;

/** A sign-in that did not check out, with the reason a person is told and the detail that is logged. */
export class SignInRefused extends Error {
  readonly refusal: SsoRefusal;
  constructor(refusal: SsoRefusal, detail: string, cause?: unknown) {
    super(detail, { cause });
    this.name = 'SignInRefused';
    this.refusal = refusal;
  }
}

export interface Authorization {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/**
 * SecureLogin's multi-tenant app registration as an OpenID relying party
 * (openid-client): authorization code with PKCE, state and nonce, always
 * against one Entra tenant's own issuer `{authority}/{tid}/v2.0`; /common and
 * /organizations are never used, so no other tenant's token can pass.
 */
export class RelyingParty {
  readonly #entra: EntraConfig;
  readonly #redirectUri: () => string;
  readonly #issuers = new Map<string, { metadata: Promise<openid.ServerMetadata>; at: number }>();
  readonly #keys = new Map<string, openid.ExportedJWKSCache>();

  constructor(entra: EntraConfig, redirectUri: () => string) {
    this.#entra = entra;
    this.#redirectUri = redirectUri;
  }

  /** The only issuer an ID token for this Entra tenant may name. */
  issuerOf(entraTenantId: string): string {
    return `${this.#entra.authority}/${entraTenantId}/v2.0`;
  }

  async authorization(entraTenantId: string, hints: { domainHint: string; loginHint?: string }): Promise<Authorization> {
    const config = this.#configuration(await this.#metadata(entraTenantId));
    const codeVerifier = openid.randomPKCECodeVerifier();
    const state = openid.randomState();
    const nonce = openid.randomNonce();
    const parameters: Record<string, string> = {
      redirect_uri: this.#redirectUri(),
      response_type: 'code',
      response_mode: 'query',
      scope: 'openid profile email',
      code_challenge: await openid.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      domain_hint: hints.domainHint,
    };
    if (hints.loginHint) parameters.login_hint = hints.loginHint;
    return { url: openid.buildAuthorizationUrl(config, parameters), state, nonce, codeVerifier };
  }

  /**
   * Trades the code for tokens and checks the ID token: signature (the
   * tenant's keys, fetched again when it names a key we do not know), issuer,
   * audience, lifetime, nonce; then that `iss` and `tid` are the pinned tenant's.
   */
  async complete(
    entraTenantId: string,
    callback: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<EntraPerson> {
    const metadata = await this.#metadata(entraTenantId);
    const config = this.#configuration(metadata);
    openid.enableNonRepudiationChecks(config);
    // A Configuration of its own per sign-in, handed the tenant's cached keys
    // only when they hold the key the ID token names: openid-client would
    // otherwise refuse an unknown kid for a minute after its last fetch, and a
    // sign-in just after Entra rotates its keys must not fail.
    const cached = this.#keys.get(entraTenantId);
    config[openid.customFetch] = async (url, options) => {
      const response = await fetch(url, options as RequestInit);
      if (cached && url === metadata.token_endpoint && response.ok) {
        const kid = await idTokenKid(response.clone());
        if (kid && cached.jwks.keys.some((key) => key.kid === kid)) openid.setJwksCache(config, cached);
      }
      return response;
    };
    let claims: openid.IDToken | undefined;
    try {
      const tokens = await openid.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedNonce: expected.nonce,
        expectedState: expected.state,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (error) {
      throw refusalOf(error);
    }
    const keys = openid.getJwksCache(config);
    if (keys) this.#keys.set(entraTenantId, keys);
    if (!claims) throw new SignInRefused('failed', 'the token response had no ID token');
    if (claims.iss !== this.issuerOf(entraTenantId)) {
      throw new SignInRefused('wrong_tenant', `ID token issuer ${String(claims.iss).slice(0, 200)} is not the pinned tenant's`);
    }
    if (claims.tid !== entraTenantId) {
      throw new SignInRefused('wrong_tenant', `ID token tid ${String(claims.tid).slice(0, 64)} is not the pinned tenant ${entraTenantId}`);
    }
    if (typeof claims.oid !== 'string' || claims.oid === '') throw new SignInRefused('failed', 'the ID token has no oid');
    return {
      tid: claims.tid,
      oid: claims.oid.toLowerCase(),
      preferredUsername: typeof claims.preferred_username === 'string' ? claims.preferred_username : undefined,
      name: typeof claims.name === 'string' ? claims.name : undefined,
    };
  }

  #configuration(metadata: openid.ServerMetadata): openid.Configuration {
    const config = new openid.Configuration(metadata, this.#entra.clientId, undefined, openid.ClientSecretPost(this.#entra.clientSecret));
    config.timeout = TIMEOUT_SECONDS;
    if (this.#entra.authority.startsWith('http:')) openid.allowInsecureRequests(config);
    return config;
  }

  #metadata(entraTenantId: string): Promise<openid.ServerMetadata> {
    const cached = this.#issuers.get(entraTenantId);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.metadata;
    const issuer = this.issuerOf(entraTenantId);
    const metadata = openid
      .discovery(new URL(issuer), this.#entra.clientId, undefined, openid.ClientSecretPost(this.#entra.clientSecret), {
        execute: this.#entra.authority.startsWith('http:') ? [openid.allowInsecureRequests] : [],
        timeout: TIMEOUT_SECONDS,
      })
      .then((config) => {
        const found = config.serverMetadata();
        // openid-client skips this check on Microsoft's own origin (for /common's templated issuer); this is never /common.
        if (found.issuer !== issuer) throw new SignInRefused('wrong_tenant', `discovery for ${issuer} names the issuer ${found.issuer}`);
        return found;
      })
      .catch((error: unknown) => {
        this.#issuers.delete(entraTenantId);
        throw error instanceof SignInRefused ? error : new SignInRefused('unreachable', `discovery of ${issuer} failed`, error);
      });
    this.#issuers.set(entraTenantId, { metadata, at: Date.now() });
    return metadata;
  }
}

async function idTokenKid(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.json()) as { id_token?: unknown };
    if (typeof body.id_token !== 'string') return undefined;
    const { kid } = decodeProtectedHeader(body.id_token);
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

function refusalOf(error: unknown): SignInRefused {
  if (error instanceof SignInRefused) return error;
  const e = error as { code?: string; message?: string; cause?: unknown; error?: string };
  const detail = `${e?.code ?? 'error'}: ${e?.message ?? String(error)}`.slice(0, 300);
  // The issuer check openid-client makes first: a token of another tenant's issuer.
  const comparison = (e?.cause as { cause?: { claim?: string } } | undefined)?.cause;
  if (e?.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && comparison?.claim === 'iss') {
    return new SignInRefused('wrong_tenant', detail, error);
  }
  // Network failures and timeouts talking to Entra, as openid-client wraps them.
  if (e?.code === 'OAUTH_TIMEOUT' || e?.code === 'OAUTH_ABORT' || (error instanceof TypeError && e.message === 'fetch failed')) {
    return new SignInRefused('unreachable', detail, error);
  }
  return new SignInRefused('failed', detail, error);
}
