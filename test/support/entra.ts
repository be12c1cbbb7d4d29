import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/*
 * A stand-in for Microsoft Entra ID's v2.0 endpoint, on a loopback port: per
 * tenant path the discovery document, keys, /authorize and /token, with
 * Entra's claims (oid, tid, ver "2.0", preferred_username, name, sometimes
 * email, a pairwise sub). No sign-in UI: /authorize answers at once for the
 * person told to sign in next. A test double of Microsoft, not of our code.
 */

export interface EntraPerson {
  oid: string;
  /** The Entra tenant the account lives in. */
  tid: string;
  preferredUsername: string;
  name?: string;
  email?: string;
}

/** What the next token carries instead of the truth, to see that our side refuses it. */
export interface Tampering {
  tid?: string;
  iss?: string;
  nonce?: string;
}

interface Issued {
  person: EntraPerson;
  tid: string;
  clientId: string;
  redirectUri: string;
  nonce: string | undefined;
  challenge: string | undefined;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface AuthorizeSeen {
  tid: string;
  params: URLSearchParams;
}

export class StandInEntra {
  readonly clientId = randomUUID();
  readonly clientSecret = randomBytes(24).toString('base64url');
  /** Every /authorize request, newest last, for assertions on what SecureLogin sent. */
  readonly authorizeRequests: AuthorizeSeen[] = [];
  #server: http.Server | undefined;
  #url = '';
  #keys: SigningKey[] = [];
  #next: EntraPerson | undefined;
  #nextError: Record<string, string> | undefined;
  #tamper: Tampering | undefined;
  #codes = new Map<string, Issued>();

  /** ENTRA_AUTHORITY for the service. */
  get authority(): string {
    return this.#url;
  }

  issuer(tid: string): string {
    return `${this.#url}/${tid}/v2.0`;
  }

  async start(): Promise<this> {
    await this.rotateKey();
    this.#server = http.createServer((request, response) => {
      this.#handle(request, response).catch((error) => {
        response.statusCode = 500;
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** The person who signs in at the next /authorize. */
  signInNext(person: EntraPerson): void {
    this.#next = person;
  }

  /** The next /authorize answers with this error (error, error_description, error_subcode). */
  failNext(error: Record<string, string>): void {
    this.#nextError = error;
  }

  /** The next ID token says this instead. */
  tamperNext(tampering: Tampering): void {
    this.#tamper = tampering;
  }

  /** A new signing key signs from now on; the old one leaves the key set, as after a rotation. */
  async rotateKey(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = randomBytes(8).toString('hex');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', kty: 'RSA' };
    this.#keys = [{ kid, privateKey, publicJwk }];
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.#url);
    const match =
      /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/authorize|oauth2\/v2\.0\/token)$/.exec(
        url.pathname,
      );
    if (!match) return json(response, 404, { error: 'not_found' });
    const [, tid, endpoint] = match;
    if (endpoint.endsWith('openid-configuration')) {
      return json(response, 200, {
        issuer: this.issuer(tid),
        authorization_endpoint: `${this.#url}/${tid}/oauth2/v2.0/authorize`,
        token_endpoint: `${this.#url}/${tid}/oauth2/v2.0/token`,
        jwks_uri: `${this.#url}/${tid}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token'],
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'name', 'preferred_username', 'oid', 'tid', 'ver', 'email'],
        code_challenge_methods_supported: ['plain', 'S256'],
      });
    }
    if (endpoint.endsWith('keys')) return json(response, 200, { keys: this.#keys.map((k) => k.publicJwk) });
    if (endpoint.endsWith('authorize')) return this.#authorize(tid, url, response);
    return this.#token(tid, request, response);
  }

  #authorize(tid: string, url: URL, response: http.ServerResponse): void {
    const params = url.searchParams;
    this.authorizeRequests.push({ tid, params });
    const redirectUri = params.get('redirect_uri');
    if (params.get('client_id') !== this.clientId || !redirectUri) {
      json(response, 400, { error: 'invalid_request' });
      return;
    }
    const back = new URL(redirectUri);
    const state = params.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const error = this.#nextError;
    this.#nextError = undefined;
    const person = this.#next;
    if (error || !person) {
      for (const [name, value] of Object.entries(error ?? { error: 'login_required' })) back.searchParams.set(name, value);
    } else {
      const code = randomBytes(24).toString('base64url');
      this.#codes.set(code, {
        person,
        tid,
        clientId: this.clientId,
        redirectUri,
        nonce: params.get('nonce') ?? undefined,
        challenge: params.get('code_challenge') ?? undefined,
      });
      back.searchParams.set('code', code);
    }
    response.statusCode = 302;
    response.setHeader('location', back.toString());
    response.end();
  }

  async #token(tid: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
      return json(response, 401, { error: 'invalid_client' });
    }
    const code = form.get('code') ?? '';
    const issued = this.#codes.get(code);
    this.#codes.delete(code);
    if (!issued || issued.tid !== tid || form.get('redirect_uri') !== issued.redirectUri)
      return json(response, 400, { error: 'invalid_grant' });
    const verifier = form.get('code_verifier') ?? '';
    if (!issued.challenge || createHash('sha256').update(verifier).digest('base64url') !== issued.challenge) {
      return json(response, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
    }
    const tamper = this.#tamper ?? {};
    this.#tamper = undefined;
    const { person } = issued;
    const key = this.#keys[0];
    const claims: Record<string, unknown> = {
      ver: '2.0',
      oid: person.oid,
      tid: tamper.tid ?? person.tid,
      preferred_username: person.preferredUsername,
      name: person.name ?? person.preferredUsername,
      // Pairwise: the same person has another sub in every app.
      sub: createHash('sha256').update(`${person.oid}:${issued.clientId}`).digest('base64url'),
    };
    if (person.email) claims.email = person.email;
    const nonce = tamper.nonce ?? issued.nonce;
    if (nonce) claims.nonce = nonce;
    const idToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(tamper.iss ?? this.issuer(person.tid))
      .setAudience(issued.clientId)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('1h')
      .sign(key.privateKey);
    return json(response, 200, {
      token_type: 'Bearer',
      scope: 'openid profile email',
      expires_in: 3600,
      access_token: randomBytes(24).toString('base64url'),
      id_token: idToken,
    });
  }
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}

export async function startStandInEntra(): Promise<StandInEntra> {
  return new StandInEntra().start();
}
