import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRA_REDIRECT_URI } from '../server/directory/index.ts';
import {
  authorizeCode,
  authorizeSeeded,
  Browser,
  decide,
  excerpt,
  exchangeCode,
  goToDomain,
  introspect,
  refresh,
  revoke,
  seedTenant,
  send,
  signIn,
  startAuthorize,
} from './support/authorize.ts';
import { postgresUrl, redisUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { startService, type TestService, tempDataDir } from './support/service.ts';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The flow every backend must carry: authorize, both client auth methods, refresh, introspect, revoke. */
function wholeFlow(env: () => Record<string, string>) {
  let service: TestService;
  beforeAll(async () => {
    service = await startService(env());
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('an admin authorizes and Entra trades the code with client_secret_basic for an opaque token with scope scim', async () => {
    const seeded = await seedTenant(service.store);
    const state = 'xyz/+=&ü state';
    const { code, redirect } = await authorizeCode(service, {
      clientId: seeded.client.clientId,
      domain: seeded.domain,
      username: seeded.manager.username,
      password: seeded.manager.password,
      state,
    });
    expect(`${redirect.origin}${redirect.pathname}`).toBe(ENTRA_REDIRECT_URI);
    expect(redirect.searchParams.get('state')).toBe(state);

    const answer = await exchangeCode(service, { ...seeded.client, code, auth: 'basic' });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'scim', expires_in: 3600 });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const accessToken = answer.body.access_token as string;
    expect(accessToken.split('.')).toHaveLength(1);
    expect(typeof answer.body.refresh_token).toBe('string');

    const info = await introspect(service, { ...seeded.client, token: accessToken });
    expect(info.body).toMatchObject({
      active: true,
      client_id: seeded.client.clientId,
      scope: 'scim',
      aud: `${service.config.publicUrl.origin}/scim/v2`,
      token_type: 'Bearer',
    });
    expect(String(info.body.sub)).toMatch(new RegExp(`^${seeded.tenantId}:`));
  });

  it('the same with client_secret_post, then refresh, introspect and revoke', async () => {
    const seeded = await seedTenant(service.store);
    const client = { ...seeded.client, auth: 'post' as const };
    const tokens = await authorizeSeeded(service, seeded, { auth: 'post' });
    expect(tokens.scope).toBe('scim');

    const refreshed = await refresh(service, { ...client, refreshToken: tokens.refresh_token });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(refreshed.body.scope).toBe('scim');
    expect(refreshed.body.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.body.access_token).not.toBe(tokens.access_token);

    const newAccess = refreshed.body.access_token as string;
    expect((await introspect(service, { ...client, token: newAccess })).body.active).toBe(true);

    // Revoking the refresh token ends the grant: every token of it stops working.
    const revoked = await revoke(service, { ...client, token: refreshed.body.refresh_token as string });
    expect(revoked.status).toBe(200);
    expect((await introspect(service, { ...client, token: newAccess })).body).toEqual({ active: false });
    expect((await introspect(service, { ...client, token: tokens.access_token })).body).toEqual({ active: false });
    const after = await refresh(service, { ...client, refreshToken: refreshed.body.refresh_token as string });
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
  });

  it('a PKCE challenge that was sent is enforced at the token endpoint', async () => {
    const seeded = await seedTenant(service.store);
    const flow = { clientId: seeded.client.clientId, domain: seeded.domain, ...seeded.manager, pkce: true };
    const first = await authorizeCode(service, flow);
    const without = await exchangeCode(service, { ...seeded.client, code: first.code });
    expect(without.status).toBe(400);
    expect(without.body.error).toBe('invalid_grant');

    const second = await authorizeCode(service, flow);
    const wrong = await exchangeCode(service, { ...seeded.client, code: second.code, codeVerifier: 'x'.repeat(43) });
    expect(wrong.body.error).toBe('invalid_grant');

    const third = await authorizeCode(service, flow);
    const right = await exchangeCode(service, { ...seeded.client, code: third.code, codeVerifier: third.codeVerifier });
    expect(right.status, JSON.stringify(right.body)).toBe(200);
  });

  it('an explicit scope=scim is honoured like the default', async () => {
    const seeded = await seedTenant(service.store);
    const tokens = await authorizeSeeded(service, seeded, { scope: 'scim' });
    expect(tokens.scope).toBe('scim');
  });

  it('a client serving any tenant reaches the tenant typed on the Go to domain page', async () => {
    const seeded = await seedTenant(service.store, { anyTenant: true });
    const tokens = await authorizeSeeded(service, seeded);
    const info = await introspect(service, { ...seeded.client, token: tokens.access_token });
    expect(String(info.body.sub)).toMatch(new RegExp(`^${seeded.tenantId}:`));
  });
}

describe('the Authorize flow on the embedded store', () => {
  wholeFlow(() => ({}));
});

describe.skipIf(!redisUrl)('the Authorize flow with sessions and tokens in Redis', () => {
  wholeFlow(() => ({ REDIS_URL: redisUrl! }));
});

describe.skipIf(!postgresUrl || !redisUrl)('the Authorize flow scaled out: directory in PostgreSQL, sessions in Redis', () => {
  // A database of its own: suites running side by side never share the test database.
  let database: Awaited<ReturnType<typeof freshPostgresUrl>> | undefined;
  beforeAll(async () => {
    database = await freshPostgresUrl();
  });
  afterAll(async () => {
    await database?.drop();
  });
  wholeFlow(() => ({ DATABASE_URL: database!.url, REDIS_URL: redisUrl! }));
});

describe('metadata', () => {
  let service: TestService;
  beforeAll(async () => {
    const port = await freePort();
    service = await startService({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('OpenID discovery and RFC 8414 metadata name the issuer and the endpoints under /oauth/', async () => {
    const origin = service.config.publicUrl.origin;
    const openid = JSON.parse((await send(`${service.url}/.well-known/openid-configuration`)).text);
    const rfc8414Response = await send(`${service.url}/.well-known/oauth-authorization-server`);
    expect(rfc8414Response.status).toBe(200);
    const rfc8414 = JSON.parse(rfc8414Response.text);
    for (const metadata of [openid, rfc8414]) {
      expect(metadata).toMatchObject({
        issuer: origin,
        authorization_endpoint: `${origin}/oauth/authorize`,
        token_endpoint: `${origin}/oauth/token`,
        revocation_endpoint: `${origin}/oauth/revoke`,
        introspection_endpoint: `${origin}/oauth/introspect`,
        jwks_uri: `${origin}/oauth/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      });
      expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
      expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
      expect(metadata.registration_endpoint).toBeUndefined();
    }
  });

  it('the JWKS publishes an RSA signing key and nothing private', async () => {
    const jwks = JSON.parse((await send(`${service.url}/oauth/jwks`)).text);
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys.some((k: { kty: string }) => k.kty === 'RSA')).toBe(true);
    for (const key of jwks.keys) expect(Object.keys(key)).not.toEqual(expect.arrayContaining(['d']));
  });
});

function survivesRestart(backend: () => Record<string, string>) {
  it('keeps tokens, keys and interactions: refresh works, an open Authorize continues', async () => {
    // The same address before and after, as in production: tokens name PUBLIC_URL, interactions their return URL.
    const port = await freePort();
    const env = { ...backend(), DATA_DIR: tempDataDir(), PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` };
    let service = await startService(env);
    let seeded: Awaited<ReturnType<typeof seedTenant>>;
    let tokens: Awaited<ReturnType<typeof authorizeSeeded>>;
    let jwksBefore: unknown;
    let started: Awaited<ReturnType<typeof startAuthorize>>;
    try {
      seeded = await seedTenant(service.store);
      tokens = await authorizeSeeded(service, seeded);
      jwksBefore = JSON.parse((await send(`${service.url}/oauth/jwks`)).text);
      started = await startAuthorize(service, { clientId: seeded.client.clientId });
    } finally {
      await service.stop();
    }

    service = await startService(env);
    try {
      expect(JSON.parse((await send(`${service.url}/oauth/jwks`)).text)).toEqual(jwksBefore);
      const info = await introspect(service, { ...seeded.client, token: tokens.access_token });
      expect(info.body.active).toBe(true);
      const refreshed = await refresh(service, { ...seeded.client, refreshToken: tokens.refresh_token });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);

      // The browser's cookies were signed with the kept cookie keys; the new process reads them.
      const browser = new Browser(service.url);
      browser.cookies = started.browser.cookies;
      const domainPage = await browser.get(new URL(started.page.url).pathname);
      expect(domainPage.status, excerpt(domainPage.text)).toBe(200);
      const login = await goToDomain(browser, domainPage, seeded.domain);
      expect(login.status, excerpt(login.text)).toBe(200);
      const consent = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
      expect(consent.status, excerpt(consent.text)).toBe(200);
      const redirect = await decide(browser, consent, 'allow');
      expect(redirect.searchParams.get('state')).toBe(started.state);
      const traded = await exchangeCode(service, { ...seeded.client, code: redirect.searchParams.get('code')! });
      expect(traded.status, JSON.stringify(traded.body)).toBe(200);
    } finally {
      await service.stop();
    }
  });
}

describe('a restart with the same data folder', () => {
  survivesRestart(() => ({}));
});

describe.skipIf(!redisUrl)('a restart with sessions and tokens in Redis', () => {
  survivesRestart(() => ({ REDIS_URL: redisUrl! }));
});

describe('behind a TLS-terminating proxy', () => {
  let service: TestService;
  const publicOrigin = 'https://login.securelogin.test';
  beforeAll(async () => {
    service = await startService({ PUBLIC_URL: publicOrigin });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('the whole flow works through X-Forwarded-Proto/Host, with secure cookies and https URLs', async () => {
    const seeded = await seedTenant(service.store);
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'login.securelogin.test', 'x-forwarded-for': '203.0.113.7' };
    const browser = new Browser(service.url, { headers, publicOrigin });
    const query = new URLSearchParams({
      client_id: seeded.client.clientId,
      redirect_uri: ENTRA_REDIRECT_URI,
      response_type: 'code',
      state: 's',
    });
    const first = await browser.get(`/oauth/authorize?${query}`);
    expect(first.status).toBe(303);
    const interactionCookies = first.headers.getSetCookie();
    expect(interactionCookies.length).toBeGreaterThan(0);
    for (const cookie of interactionCookies) expect(cookie.toLowerCase()).toContain('; secure');

    const { code } = await authorizeCode(service, {
      clientId: seeded.client.clientId,
      domain: seeded.domain,
      ...seeded.manager,
      headers,
      publicOrigin,
    });
    const answer = await exchangeCode(service, { ...seeded.client, code });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const info = await introspect(service, { ...seeded.client, token: answer.body.access_token as string });
    expect(info.body).toMatchObject({ active: true, iss: publicOrigin, aud: `${publicOrigin}/scim/v2` });

    const metadata = JSON.parse((await send(`${service.url}/.well-known/openid-configuration`, { headers })).text);
    expect(metadata.token_endpoint).toBe(`${publicOrigin}/oauth/token`);
  });
});
