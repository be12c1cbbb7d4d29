import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPassword, setTenantDisabled } from '../server/directory/index.ts';
import { main } from '../server/ops/cli.ts';
import {
  Browser,
  excerpt,
  goToDomain,
  type Response,
  type Service,
  send,
  signIn,
  startAuthorize,
  submit,
  type TokenAnswer,
  textOf,
} from './support/authorize.ts';
import { postgresUrl, redisUrl } from './support/backends.ts';
import { entraUser, provisioningTenant, ScimClient, type ScimTenant, startOnFreshPostgres } from './support/scim.ts';
import { startService, type TestService } from './support/service.ts';

/*
 * SecureLogin's own apps as OpenID clients: registered with the CLI, any
 * active user of the tenant signs in (no consent page), gets an ID token and
 * userinfo with their directory claims, a refresh token only with
 * offline_access; and once SCIM deprovisions them, every token they hold
 * stops at its next use.
 */

const REDIRECT_URI = 'http://127.0.0.1:9/app/callback';
const PASSWORD = 'Correct horse battery staple 11';

interface Deployment {
  name: string;
  enabled: boolean;
  start(): Promise<TestService>;
}

// Redis database 11 keeps this suite's keys apart from other suites' on the shared server.
function ownRedisDb(url: string): string {
  const own = new URL(url);
  own.pathname = '/11';
  return own.toString();
}

const DEPLOYMENTS: Deployment[] = [
  { name: 'embedded SQLite', enabled: true, start: () => startService() },
  {
    name: 'PostgreSQL and Redis',
    enabled: Boolean(postgresUrl && redisUrl),
    start: () => startOnFreshPostgres({ REDIS_URL: ownRedisDb(redisUrl!) }),
  },
];

/** `securelogin client add … --json` in-process, against the service's own store and PUBLIC_URL. */
async function securelogin(service: TestService, args: string[]): Promise<{ code: number; json: any; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const env: Record<string, string> = { DATA_DIR: service.dataDir, PUBLIC_URL: service.config.publicUrl.origin, LOG_LEVEL: 'silent' };
  if (service.config.databaseUrl) env.DATABASE_URL = service.config.databaseUrl;
  const terminal = {
    stdin: process.stdin,
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
  };
  const code = await main([...args, '--json'], terminal, env);
  return { code, json: code === 0 ? JSON.parse(stdout) : undefined, stderr };
}

interface AppClient {
  clientId: string;
  clientSecret: string | null;
}

async function addApp(service: TestService, where: string[], extra: string[] = []): Promise<AppClient> {
  const added = await securelogin(service, [
    'client',
    'add',
    ...where,
    '--app',
    '--name',
    'SecureLogin',
    '--redirect-uri',
    REDIRECT_URI,
    ...extra,
  ]);
  expect(added.code, added.stderr).toBe(0);
  expect(added.json).toMatchObject({
    kind: 'app',
    redirect_uris: [REDIRECT_URI],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
  });
  return { clientId: added.json.client_id, clientSecret: added.json.client_secret };
}

interface AppRequest {
  scope?: string;
  prompt?: string;
  domainHint?: string;
  pkce?: boolean;
}

interface Started {
  browser: Browser;
  /** The first page the person sees: Go to domain, or the tenant's sign-in page with a domain_hint. */
  page: Response;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The app sends the person's browser to /oauth/authorize, as an OpenID client does (state, nonce, PKCE). */
async function startApp(service: Service, app: AppClient, request: AppRequest = {}): Promise<Started> {
  const browser = new Browser(service.url);
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const codeVerifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: app.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: request.scope ?? 'openid profile email',
    state,
    nonce,
  });
  if (request.pkce !== false) {
    query.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'));
    query.set('code_challenge_method', 'S256');
  }
  if (request.prompt) query.set('prompt', request.prompt);
  if (request.domainHint !== undefined) query.set('domain_hint', request.domainHint);
  let page = await browser.get(`/oauth/authorize?${query}`);
  while ((page.status === 302 || page.status === 303) && !page.location!.startsWith(REDIRECT_URI)) page = await browser.follow(page);
  return { browser, page, state, nonce, codeVerifier };
}

/**
 * Signs in on the tenant's sign-in page and follows the redirects to the app's
 * redirect URI: every step in between is a redirect, never a page to answer
 * (no consent page). Returns the redirect to the app.
 */
async function signInToApp(started: Started, userName: string, password = PASSWORD): Promise<URL> {
  let answer = await submit(started.browser, started.page, 'login-form', { username: userName, password });
  const pages: string[] = [];
  while (answer.status === 302 || answer.status === 303) {
    if (answer.location!.startsWith(REDIRECT_URI)) return new URL(answer.location!);
    pages.push(new URL(answer.location!, started.browser.base).pathname);
    answer = await started.browser.follow(answer);
  }
  throw new Error(`stopped at ${answer.status} after ${pages.join(' → ')}: ${excerpt(answer.text)}`);
}

async function tokenRequest(service: Service, app: AppClient, params: Record<string, string>): Promise<TokenAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(params);
  if (app.clientSecret) headers.authorization = `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
  else body.set('client_id', app.clientId);
  const response = await send(new URL(params.token ? '/oauth/introspect' : '/oauth/token', service.url), {
    method: 'POST',
    headers,
    body: body.toString(),
  });
  return { status: response.status, headers: response.headers, body: JSON.parse(response.text || '{}') };
}

interface AppTokens {
  access_token: string;
  id_token: string;
  refresh_token?: string;
  scope: string;
}

/** The whole sign-in to the app: code, then tokens, as the app's back end trades them. */
async function appTokens(service: Service, app: AppClient, domain: string, userName: string, request: AppRequest = {}) {
  const started = await startApp(service, app, { domainHint: domain, ...request });
  expect(started.page.status, excerpt(started.page.text)).toBe(200);
  const redirect = await signInToApp(started, userName);
  expect(redirect.searchParams.get('state')).toBe(started.state);
  const code = redirect.searchParams.get('code');
  expect(code, redirect.toString()).toBeTruthy();
  const answer = await tokenRequest(service, app, {
    grant_type: 'authorization_code',
    code: code!,
    redirect_uri: REDIRECT_URI,
    code_verifier: started.codeVerifier,
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { tokens: answer.body as unknown as AppTokens, nonce: started.nonce };
}

async function userinfo(service: Service, accessToken: string) {
  const response = await send(new URL('/oauth/userinfo', service.url), { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, headers: response.headers, body: response.text ? JSON.parse(response.text) : undefined };
}

for (const deployment of DEPLOYMENTS) {
  describe.skipIf(!deployment.enabled)(`SecureLogin apps as OpenID clients (${deployment.name})`, () => {
    let service: TestService;
    let tenant: ScimTenant;
    let app: AppClient;

    beforeAll(async () => {
      service = await deployment.start();
      tenant = await provisioningTenant(service);
      app = await addApp(service, [tenant.seeded.domain]);
    });
    afterAll(async () => {
      await service?.stop();
    });

    /** A user Entra provisioned (not a manager), with a password set as the operator would. */
    async function provisionedUser(userName: string, on: ScimTenant = tenant): Promise<string> {
      const created = await on.scim.post(
        '/Users',
        entraUser(userName, {
          displayName: 'Alice Jansen',
          name: { givenName: 'Alice', familyName: 'Jansen', formatted: 'Alice Jansen' },
          emails: [{ primary: true, type: 'work', value: `work.${userName}` }],
        }),
      );
      expect(created.status, created.text).toBe(201);
      await setPassword(service.store.db, on.seeded.domain, userName, PASSWORD);
      return created.body.id;
    }

    it('a provisioned user who is not a manager signs in to the app without a consent page and gets a verified ID token with their claims', async () => {
      const userName = 'alice@apps.example';
      const id = await provisionedUser(userName);
      const { tokens, nonce } = await appTokens(service, app, tenant.seeded.domain, userName);
      expect(tokens.scope).toBe('openid profile email');
      expect(tokens.refresh_token).toBeUndefined();

      const issuer = service.config.publicUrl.origin;
      const jwks = createRemoteJWKSet(new URL('/oauth/jwks', service.url));
      const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, { issuer, audience: app.clientId });
      expect(protectedHeader.alg).toBe('RS256');
      const expected = {
        sub: `${tenant.seeded.tenantId}:${id}`,
        name: 'Alice Jansen',
        given_name: 'Alice',
        family_name: 'Jansen',
        email: `work.${userName}`,
        preferred_username: userName,
        securelogin_domain: tenant.seeded.domain,
      };
      expect(payload).toMatchObject({ ...expected, nonce });

      const info = await userinfo(service, tokens.access_token);
      expect(info.status, JSON.stringify(info.body)).toBe(200);
      expect(info.body).toEqual(expected);

      // The sub stays when the userName changes.
      await tenant.scim.patch(`/Users/${id}`, { Operations: [{ op: 'Replace', path: 'userName', value: 'alice.renamed@apps.example' }] });
      const renamed = await userinfo(service, tokens.access_token);
      expect(renamed.body).toMatchObject({ sub: expected.sub, preferred_username: 'alice.renamed@apps.example' });
    });

    it('a refresh token comes only with offline_access (and prompt=consent), and refreshing works', async () => {
      const userName = 'bob@apps.example';
      await provisionedUser(userName);
      const without = await appTokens(service, app, tenant.seeded.domain, userName, { scope: 'openid' });
      expect(without.tokens.refresh_token).toBeUndefined();

      const offline = await appTokens(service, app, tenant.seeded.domain, userName, { scope: 'openid offline_access', prompt: 'consent' });
      expect(offline.tokens.scope).toBe('openid offline_access');
      expect(typeof offline.tokens.refresh_token).toBe('string');
      const refreshed = await tokenRequest(service, app, { grant_type: 'refresh_token', refresh_token: offline.tokens.refresh_token! });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      expect(typeof refreshed.body.id_token).toBe('string');
      expect((await userinfo(service, refreshed.body.access_token as string)).status).toBe(200);
    });

    it('domain_hint skips the Go to domain page; an unknown one shows it prefilled with a message', async () => {
      const hinted = await startApp(service, app, { domainHint: tenant.seeded.domain.toUpperCase() });
      expect(hinted.page.status).toBe(200);
      expect(hinted.page.url).toContain(`/login/${tenant.seeded.domain}`);
      expect(hinted.page.text).toContain('id="login-form"');
      // Back from the sign-in page is the Go to domain page, not the hint again.
      const back = /href="([^"]*\?choose[^"]*)"/.exec(hinted.page.text);
      expect(back, excerpt(hinted.page.text)).toBeTruthy();
      const domainPage = await hinted.browser.get(back![1].replace(/&amp;/g, '&'));
      expect(domainPage.status).toBe(200);
      expect(domainPage.text).toContain('id="domain-form"');

      // An app for any tenant: one bound to a tenant refuses every other domain anyway.
      const anyTenant = await addApp(service, ['--any-tenant']);
      const unknown = await startApp(service, anyTenant, { domainHint: 'nobody-here.example' });
      expect(unknown.page.status).toBe(404);
      expect(unknown.page.text).toContain('id="domain-form"');
      expect(unknown.page.text).toContain('value="nobody-here.example"');
      expect(textOf(unknown.page.text, 'domain-error') ?? unknown.page.text).toContain('nobody-here.example');
    });

    it('after SCIM sets active false, the very next userinfo, refresh and introspection fail, and sign-in is refused', async () => {
      const userName = 'carol@apps.example';
      const id = await provisionedUser(userName);
      const { tokens } = await appTokens(service, app, tenant.seeded.domain, userName, {
        scope: 'openid profile offline_access',
        prompt: 'consent',
      });
      expect((await userinfo(service, tokens.access_token)).status).toBe(200);
      expect((await tokenRequest(service, app, { token: tokens.access_token })).body.active).toBe(true);

      const disabled = await tenant.scim.patch(`/Users/${id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      });
      expect(disabled.status).toBe(200);
      await expectNoAccess(tokens);

      const again = await startApp(service, app, { domainHint: tenant.seeded.domain });
      const refused = await submit(again.browser, again.page, 'login-form', { username: userName, password: PASSWORD });
      expect(refused.status).toBe(403);
    });

    it('a PUT with active false ends access the same way', async () => {
      const userName = 'dina@apps.example';
      const id = await provisionedUser(userName);
      const { tokens } = await appTokens(service, app, tenant.seeded.domain, userName, {
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      const put = await tenant.scim.put(`/Users/${id}`, entraUser(userName, { active: false }));
      expect(put.status, put.text).toBe(200);
      await expectNoAccess(tokens);
    });

    it('after SCIM deletes the user, the very next userinfo, refresh and introspection fail', async () => {
      const userName = 'dave@apps.example';
      const id = await provisionedUser(userName);
      const { tokens } = await appTokens(service, app, tenant.seeded.domain, userName, {
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      expect((await userinfo(service, tokens.access_token)).status).toBe(200);
      expect((await tenant.scim.delete(`/Users/${id}`)).status).toBe(204);
      await expectNoAccess(tokens);
    });

    it('a disabled tenant ends its users’ app tokens', async () => {
      const other = await provisioningTenant(service);
      const otherApp = await addApp(service, [other.seeded.domain]);
      await provisionedUser('erin@apps.example', other);
      const { tokens } = await appTokens(service, otherApp, other.seeded.domain, 'erin@apps.example', {
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      expect((await userinfo(service, tokens.access_token)).status).toBe(200);
      await setTenantDisabled(service.store.db, other.seeded.domain, true);
      await expectNoAccess(tokens, otherApp);
    });

    async function expectNoAccess(tokens: AppTokens, client: AppClient = app): Promise<void> {
      const info = await userinfo(service, tokens.access_token);
      expect(info.status).toBe(401);
      expect(info.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      const refreshed = await tokenRequest(service, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
      expect((await tokenRequest(service, client, { token: tokens.access_token })).body).toEqual({ active: false });
      expect((await tokenRequest(service, client, { token: tokens.refresh_token! })).body).toEqual({ active: false });
    }

    it('an app never reaches SCIM: asking for scope scim grants only its own scopes, and SCIM refuses its token', async () => {
      await provisionedUser('frank@apps.example');
      const { tokens } = await appTokens(service, app, tenant.seeded.domain, 'frank@apps.example', { scope: 'openid scim' });
      expect(tokens.scope).toBe('openid');
      const info = await tokenRequest(service, app, { token: tokens.access_token });
      expect(info.body).toMatchObject({ active: true, scope: 'openid' });
      expect(info.body.aud).toBeUndefined();
      expect((await new ScimClient(service, tokens.access_token).get('/Users?count=1')).status).toBe(401);
    });

    it('a confidential app may leave PKCE out (a sign-on URL cannot carry a challenge); a challenge it sends must be proven', async () => {
      await provisionedUser('ida@apps.example');
      const without = await startApp(service, app, { domainHint: tenant.seeded.domain, pkce: false });
      const plain = await signInToApp(without, 'ida@apps.example');
      const traded = await tokenRequest(service, app, {
        grant_type: 'authorization_code',
        code: plain.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
      });
      expect(traded.status, JSON.stringify(traded.body)).toBe(200);

      const challenged = await startApp(service, app, { domainHint: tenant.seeded.domain });
      const code = (await signInToApp(challenged, 'ida@apps.example')).searchParams.get('code')!;
      const unproven = await tokenRequest(service, app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
      expect(unproven.status).toBe(400);
      expect(unproven.body.error).toBe('invalid_grant');
    });

    it('a public app (--public, --any-tenant) has no secret, must use PKCE, and signs users of any tenant in', async () => {
      const open = await addApp(service, ['--any-tenant'], ['--public']);
      expect(open.clientSecret).toBeNull();
      const without = await startApp(service, open, { pkce: false });
      expect(without.page.status).toBe(303);
      const error = new URL(without.page.location!);
      expect(error.searchParams.get('error')).toBe('invalid_request');
      expect(error.searchParams.get('error_description')).toMatch(/PKCE/);

      await provisionedUser('gina@apps.example');
      const { tokens } = await appTokens(service, open, tenant.seeded.domain, 'gina@apps.example');
      expect((await userinfo(service, tokens.access_token)).body.securelogin_domain).toBe(tenant.seeded.domain);
    });

    it('the provisioning client stays managers-only: a user who is not a manager is refused on the consent page', async () => {
      await provisionedUser('hank@apps.example');
      const started = await startAuthorize(service, { clientId: tenant.seeded.client.clientId });
      const login = await goToDomain(started.browser, started.page, tenant.seeded.domain);
      const consent = await signIn(started.browser, login, 'hank@apps.example', PASSWORD);
      expect(consent.status).toBe(403);
      expect(excerpt(consent.text)).toContain('not a manager');
    });

    it('the CLI refuses an app without a redirect URI and --public without --app, in one line', async () => {
      const noUri = await securelogin(service, ['client', 'add', tenant.seeded.domain, '--app']);
      expect(noUri.code).toBe(2);
      expect(noUri.stderr.trim().split('\n')).toHaveLength(1);
      expect(noUri.stderr).toContain('--redirect-uri');
      const notApp = await securelogin(service, ['client', 'add', tenant.seeded.domain, '--public']);
      expect(notApp.code).toBe(2);
      expect(notApp.stderr).toContain('--app');
      const listed = await securelogin(service, ['client', 'list', tenant.seeded.domain]);
      expect(listed.json.map((c: { kind?: string }) => c.kind ?? 'provisioning').sort()).toEqual(['app', 'provisioning']);
    });

    it('discovery names the userinfo endpoint, the app scopes and the claims', async () => {
      const metadata = JSON.parse((await send(`${service.url}/.well-known/openid-configuration`)).text);
      expect(metadata.userinfo_endpoint).toBe(`${service.config.publicUrl.origin}/oauth/userinfo`);
      expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'offline_access']));
      expect(metadata.claims_supported).toEqual(
        expect.arrayContaining(['sub', 'name', 'given_name', 'family_name', 'email', 'preferred_username', 'securelogin_domain']),
      );
    });
  });
}
