import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAppClient } from '../server/directory/index.ts';
import { setSso } from '../server/sso/index.ts';
import {
  Browser,
  decide,
  excerpt,
  exchangeCode,
  goToDomain,
  type Response,
  seedTenant,
  send,
  signIn,
  startAuthorize,
  submit,
  textOf,
} from './support/authorize.ts';
import { type EntraPerson, type StandInEntra, startStandInEntra } from './support/entra.ts';
import { BACKENDS, entraUser, provisioningTenant, type ScimTenant } from './support/scim.ts';
import { startService, type TestService } from './support/service.ts';

/** Follows redirects across the service and the stand-in Entra until a page answers. */
async function settle(browser: Browser, response: Response): Promise<{ page: Response; visited: string[] }> {
  const visited = [response.url];
  let current = response;
  for (let hops = 0; [302, 303].includes(current.status); hops++) {
    if (hops > 12) throw new Error(`too many redirects: ${visited.join(' -> ')}`);
    current = await browser.get(current.location!);
    visited.push(current.url);
  }
  return { page: current, visited };
}

interface MicrosoftSignIn {
  browser: Browser;
  /** The page the browser ends on: the consent page, or the sign-in page with a reason. */
  page: Response;
  /** The callback URL Entra sent the browser to. */
  callback: string | undefined;
  state: string;
}

/** An Entra admin's Authorize for this tenant, choosing Sign in with Microsoft as `person`. */
async function signInWithMicrosoft(
  service: TestService,
  entra: StandInEntra,
  tenant: ScimTenant,
  person: EntraPerson | undefined,
  options: { headers?: Record<string, string> } = {},
): Promise<MicrosoftSignIn> {
  const started = await startAuthorize(service, { clientId: tenant.seeded.client.clientId, headers: options.headers });
  const login = await goToDomain(started.browser, started.page, tenant.seeded.domain);
  expect(login.status, excerpt(login.text)).toBe(200);
  if (person) entra.signInNext(person);
  const toEntra = await submit(started.browser, login, 'sso-form');
  expect(toEntra.status, excerpt(toEntra.text)).toBe(303);
  expect(toEntra.location!.startsWith(entra.authority)).toBe(true);
  const { page, visited } = await settle(started.browser, toEntra);
  return { browser: started.browser, page, callback: visited.find((url) => url.includes('/sso/callback')), state: started.state };
}

/** Entra's Authorize, naming the tenant's domain as a sign-on URL does: the provider's first answer (a redirect). */
async function authorizeWithHint(service: TestService, clientId: string, domain: string): Promise<{ browser: Browser; first: Response }> {
  const browser = new Browser(service.url);
  const query = new URLSearchParams({
    client_id: clientId,
    redirect_uri: 'https://portal.azure.com/TokenAuthorize',
    response_type: 'code',
    state: 'hinted',
    domain_hint: domain,
  });
  const first = await browser.get(`/oauth/authorize?${query}`);
  expect(first.status, excerpt(first.text)).toBe(303);
  return { browser, first };
}

function person(tid: string, preferredUsername: string, extra: Partial<EntraPerson> = {}): EntraPerson {
  return { oid: randomUUID(), tid, preferredUsername, name: 'Given Family', ...extra };
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.enabled)(`Sign in with Microsoft (${backend.name})`, () => {
    let entra: StandInEntra;
    let service: TestService;
    let tenant: ScimTenant;
    let tid: string;

    beforeAll(async () => {
      entra = await startStandInEntra();
      service = await backend.start({
        ENTRA_AUTHORITY: entra.authority,
        ENTRA_CLIENT_ID: entra.clientId,
        ENTRA_CLIENT_SECRET: entra.clientSecret,
      });
      tenant = await provisioningTenant(service);
      tid = randomUUID();
      await setSso(service.store.db, tenant.seeded.domain, { entraTenantId: tid, required: false });
    }, 60_000);
    afterAll(async () => {
      await service?.stop();
      await entra?.stop();
    });

    async function provision(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
      const created = await tenant.scim.post('/Users', entraUser(userName, extra));
      expect(created.status, created.text).toBe(201);
      return created.body.id;
    }

    async function linkOf(oid: string): Promise<string | undefined> {
      const row = await service.store.db.selectFrom('sso_links').select('user_id').where('oid', '=', oid).executeTakeFirst();
      return row?.user_id;
    }

    it('shows Sign in with Microsoft above the password form, and sends Entra the tenant, PKCE, state, nonce and domain_hint', async () => {
      const started = await startAuthorize(service, { clientId: tenant.seeded.client.clientId });
      const login = await goToDomain(started.browser, started.page, tenant.seeded.domain);
      expect(login.text.indexOf('id="sso-form"')).toBeGreaterThan(-1);
      expect(login.text.indexOf('id="sso-form"')).toBeLessThan(login.text.indexOf('id="login-form"'));
      expect(textOf(login.text, 'sso-submit')).toBe('Sign in with Microsoft');
      const toEntra = await submit(started.browser, login, 'sso-form');
      const sent = new URL(toEntra.location!);
      expect(`${sent.origin}${sent.pathname}`).toBe(`${entra.authority}/${tid}/oauth2/v2.0/authorize`);
      expect(sent.searchParams.get('client_id')).toBe(entra.clientId);
      expect(sent.searchParams.get('redirect_uri')).toBe(`${service.url}/sso/callback`);
      expect(sent.searchParams.get('response_type')).toBe('code');
      expect(sent.searchParams.get('scope')).toBe('openid profile email');
      expect(sent.searchParams.get('code_challenge_method')).toBe('S256');
      expect(sent.searchParams.get('code_challenge')).toBeTruthy();
      expect(sent.searchParams.get('state')?.length).toBeGreaterThan(20);
      expect(sent.searchParams.get('nonce')?.length).toBeGreaterThan(20);
      expect(sent.searchParams.get('domain_hint')).toBe(tenant.seeded.domain);
      expect(sent.searchParams.has('login_hint')).toBe(false);
    });

    it('passes login_hint on when the Authorize came with one', async () => {
      const browser = (await startAuthorize(service, { clientId: tenant.seeded.client.clientId })).browser;
      const query = new URLSearchParams({
        client_id: tenant.seeded.client.clientId,
        redirect_uri: 'https://portal.azure.com/TokenAuthorize',
        response_type: 'code',
        state: 'x',
        login_hint: 'hinted@example.com',
      });
      const { page } = await settle(browser, await browser.get(`/oauth/authorize?${query}`));
      const login = await goToDomain(browser, page, tenant.seeded.domain);
      const toEntra = await submit(browser, login, 'sso-form');
      expect(new URL(toEntra.location!).searchParams.get('login_hint')).toBe('hinted@example.com');
    });

    it('links a first sign-in to the user whose userName is the UPN (any case); a member is refused at consent as with a password', async () => {
      const userId = await provision('ann@corp.example');
      const ann = person(tid, 'Ann@Corp.Example');
      const { page } = await signInWithMicrosoft(service, entra, tenant, ann);
      expect(page.status, excerpt(page.text)).toBe(403);
      expect(textOf(page.text, 'consent-refusal')).toContain('not a manager');
      expect(await linkOf(ann.oid)).toBe(userId);
    });

    it('links a first sign-in to the user whose externalId is the oid, before any userName', async () => {
      const oid = randomUUID();
      const byExternalId = await provision('bob.old@corp.example', { externalId: oid });
      await provision('bob@corp.example');
      const { page } = await signInWithMicrosoft(service, entra, tenant, person(tid, 'bob@corp.example', { oid }));
      expect(textOf(page.text, 'consent-account')).toBe('bob.old@corp.example');
      expect(await linkOf(oid)).toBe(byExternalId);
    });

    it('finds a linked user by (tid, oid) after a UPN rename; a new account that takes the old UPN does not inherit it', async () => {
      const userId = await provision('carol@corp.example');
      const carol = person(tid, 'carol@corp.example');
      await signInWithMicrosoft(service, entra, tenant, carol);
      expect(await linkOf(carol.oid)).toBe(userId);

      const renamed = await signInWithMicrosoft(service, entra, tenant, { ...carol, preferredUsername: 'carol.new@corp.example' });
      expect(textOf(renamed.page.text, 'consent-account')).toBe('carol@corp.example');

      const newcomer = await signInWithMicrosoft(service, entra, tenant, person(tid, 'carol@corp.example'));
      expect(newcomer.page.status).toBe(403);
      expect(textOf(newcomer.page.text, 'sso-error')).toContain('cannot be matched to exactly one SecureLogin account');
    });

    it('refuses an ID token whose tid is another tenant', async () => {
      await provision('dan@corp.example');
      entra.tamperNext({ tid: randomUUID() });
      const { page } = await signInWithMicrosoft(service, entra, tenant, person(tid, 'dan@corp.example'));
      expect(page.status).toBe(403);
      expect(textOf(page.text, 'sso-error')).toContain('another organisation');
    });

    it("refuses an ID token issued by another tenant's issuer, and a person of another Entra tenant", async () => {
      await provision('erin@corp.example');
      entra.tamperNext({ iss: entra.issuer(randomUUID()) });
      const tampered = await signInWithMicrosoft(service, entra, tenant, person(tid, 'erin@corp.example'));
      expect(tampered.page.status).toBe(403);
      expect(textOf(tampered.page.text, 'sso-error')).toContain('another organisation');
      const foreign = await signInWithMicrosoft(service, entra, tenant, person(randomUUID(), 'erin@corp.example'));
      expect(foreign.page.status).toBe(403);
      expect(textOf(foreign.page.text, 'sso-error')).toContain('another organisation');
    });

    it("never links by e-mail: an account whose email is a user's work e-mail is unprovisioned", async () => {
      await provision('frank@corp.example');
      const mallory = person(tid, 'mallory@elsewhere.example', { email: 'frank@corp.example' });
      const { page } = await signInWithMicrosoft(service, entra, tenant, mallory);
      expect(page.status).toBe(403);
      expect(await linkOf(mallory.oid)).toBeUndefined();
    });

    it('tells an unprovisioned person what to ask their administrator (English and Dutch)', async () => {
      const { page } = await signInWithMicrosoft(service, entra, tenant, person(tid, 'nobody@corp.example'));
      expect(page.status).toBe(403);
      expect(textOf(page.text, 'sso-error')).toContain('assign the SecureLogin app to you in Microsoft Entra');
      const dutch = await signInWithMicrosoft(service, entra, tenant, person(tid, 'nobody@corp.example'), {
        headers: { 'accept-language': 'nl' },
      });
      expect(textOf(dutch.page.text, 'sso-error')).toContain('SecureLogin-app aan u toe te wijzen in Microsoft Entra');
    });

    it('refuses a user SCIM deactivated', async () => {
      const userId = await provision('gina@corp.example');
      const gina = person(tid, 'gina@corp.example');
      await signInWithMicrosoft(service, entra, tenant, gina);
      const patched = await tenant.scim.patch(`/Users/${userId}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      });
      expect(patched.status, patched.text).toBeLessThan(300);
      const { page } = await signInWithMicrosoft(service, entra, tenant, gina);
      expect(page.status).toBe(403);
      expect(textOf(page.text, 'sso-error')).toContain('disabled');
    });

    it("removes a deleted user's link, and the person is unprovisioned afterwards", async () => {
      const userId = await provision('hal@corp.example');
      const hal = person(tid, 'hal@corp.example');
      await signInWithMicrosoft(service, entra, tenant, hal);
      expect(await linkOf(hal.oid)).toBe(userId);
      expect((await tenant.scim.delete(`/Users/${userId}`)).status).toBe(204);
      expect(await linkOf(hal.oid)).toBeUndefined();
      const { page } = await signInWithMicrosoft(service, entra, tenant, hal);
      expect(page.status).toBe(403);
      expect(textOf(page.text, 'sso-error')).toContain('no SecureLogin account');
    });

    it('refuses a replayed state', async () => {
      await provision('ivy@corp.example');
      const first = await signInWithMicrosoft(service, entra, tenant, person(tid, 'ivy@corp.example'));
      expect(first.callback).toBeDefined();
      const again = await first.browser.get(first.callback!);
      const { page } = await settle(first.browser, again);
      expect(page.status).toBe(400);
      expect(page.text).toContain('This Microsoft sign-in cannot be continued');
    });

    it('refuses an ID token with a wrong nonce', async () => {
      await provision('jack@corp.example');
      entra.tamperNext({ nonce: 'not-the-nonce-we-sent' });
      const { page } = await signInWithMicrosoft(service, entra, tenant, person(tid, 'jack@corp.example'));
      expect(page.status).toBe(400);
      expect(textOf(page.text, 'sso-error')).toContain('could not be verified');
    });

    it("brings Entra's errors back to the sign-in page as a sentence (access_denied, a cancelled sign-in, interaction_required)", async () => {
      entra.failNext({ error: 'access_denied', error_description: 'AADSTS50105: not assigned' });
      const denied = await signInWithMicrosoft(service, entra, tenant, undefined);
      expect(denied.page.status).toBe(403);
      expect(textOf(denied.page.text, 'sso-error')).toContain('assign the SecureLogin app to you');
      expect(denied.page.text).toContain('id="login-form"');

      entra.failNext({ error: 'access_denied', error_subcode: 'cancel' });
      const cancelled = await signInWithMicrosoft(service, entra, tenant, undefined, { headers: { 'accept-language': 'nl' } });
      expect(textOf(cancelled.page.text, 'sso-error')).toContain('geannuleerd');

      entra.failNext({ error: 'interaction_required' });
      const interaction = await signInWithMicrosoft(service, entra, tenant, undefined);
      expect(textOf(interaction.page.text, 'sso-error')).toContain('extra step');
    });

    it('signs in after Entra rotates its signing key (an unknown kid makes the keys be fetched again)', async () => {
      await provision('kim@corp.example');
      const kim = person(tid, 'kim@corp.example');
      const before = await signInWithMicrosoft(service, entra, tenant, kim);
      expect(textOf(before.page.text, 'consent-account')).toBe('kim@corp.example');
      await entra.rotateKey();
      const after = await signInWithMicrosoft(service, entra, tenant, kim);
      expect(textOf(after.page.text, 'consent-account'), excerpt(after.page.text)).toBe('kim@corp.example');
    });

    it("lets a manager who signs in with Microsoft allow Entra's Authorize; the token passes Test Connection", async () => {
      const manager = person(tid, tenant.seeded.manager.username);
      const { browser, page, state } = await signInWithMicrosoft(service, entra, tenant, manager);
      expect(page.status, excerpt(page.text)).toBe(200);
      const redirect = await decide(browser, page, 'allow');
      expect(redirect.searchParams.get('state')).toBe(state);
      const answer = await exchangeCode(service, { ...tenant.seeded.client, code: redirect.searchParams.get('code')! });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const test = await fetch(`${service.url}/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`, {
        headers: { authorization: `Bearer ${answer.body.access_token}` },
      });
      expect(test.status).toBe(200);
    });

    it("with SSO required: a non-manager's password is refused, a manager's still works (break-glass)", async () => {
      const strict = await seedTenant(service.store, { username: 'boss@strict.example' });
      await setSso(service.store.db, strict.domain, { entraTenantId: tid, required: true });
      // A former manager who kept a password.
      const { addManager } = await import('../server/directory/index.ts');
      await addManager(service.store.db, strict.domain, 'former@strict.example', 'Correct horse battery staple 9');
      await service.store.db.updateTable('users').set({ role: 'member' }).where('user_name', '=', 'former@strict.example').execute();

      const started = await startAuthorize(service, { clientId: strict.client.clientId });
      const login = await goToDomain(started.browser, started.page, strict.domain);
      expect(login.text).toMatch(/<details id="password-sign-in">[\s\S]*id="login-form"[\s\S]*<\/details>/);
      const refused = await signIn(started.browser, login, 'former@strict.example', 'Correct horse battery staple 9');
      expect(refused.status).toBe(403);
      expect(textOf(refused.text, 'login-error')).toContain('Use Sign in with Microsoft');

      const again = await startAuthorize(service, { clientId: strict.client.clientId });
      const managerLogin = await goToDomain(again.browser, again.page, strict.domain);
      const consent = await signIn(again.browser, managerLogin, strict.manager.username, strict.manager.password);
      expect(consent.status, excerpt(consent.text)).toBe(200);
      expect(consent.text).toContain('id="consent-form"');
    });

    it('with SSO required, an Authorize naming the domain (domain_hint) goes straight to Microsoft; a cancel there comes back to the break-glass password', async () => {
      const strict = await seedTenant(service.store, { username: 'boss@straight.example' });
      await setSso(service.store.db, strict.domain, { entraTenantId: tid, required: true });
      const started = await authorizeWithHint(service, strict.client.clientId, strict.domain);
      // The interaction shows no page: it redirects on to Microsoft.
      let hop = await started.browser.follow(started.first);
      expect(hop.status, excerpt(hop.text)).toBe(303);
      const ours: string[] = [];
      while (!hop.location!.startsWith(entra.authority)) {
        ours.push(new URL(hop.location!, service.url).pathname);
        hop = await started.browser.follow(hop);
        expect(hop.status, excerpt(hop.text)).toBe(303);
      }
      expect(ours.at(-1)).toBe(`/oauth/interaction/${ours[0].split('/')[3]}/login/${strict.domain}/sso`);
      expect(new URL(hop.location!).searchParams.get('domain_hint')).toBe(strict.domain);

      entra.failNext({ error: 'access_denied', error_subcode: 'cancel' });
      const { page } = await settle(started.browser, hop);
      expect(page.status).toBe(400);
      expect(textOf(page.text, 'sso-error')).toContain('cancelled');
      const consent = await signIn(started.browser, page, strict.manager.username, strict.manager.password);
      expect(consent.status, excerpt(consent.text)).toBe(200);
      expect(consent.text).toContain('id="consent-form"');
    });

    it('with SSO on but not required, an Authorize with domain_hint lands on the sign-in page, Microsoft first', async () => {
      const started = await authorizeWithHint(service, tenant.seeded.client.clientId, tenant.seeded.domain);
      const { page } = await settle(started.browser, started.first);
      expect(page.status, excerpt(page.text)).toBe(200);
      expect(page.url).toContain(`/login/${tenant.seeded.domain}`);
      expect(page.text.indexOf('id="sso-form"')).toBeGreaterThan(-1);
      expect(page.text.indexOf('id="sso-form"')).toBeLessThan(page.text.indexOf('id="login-form"'));
    });

    it("the sign-on URL launches the tenant's app: a user signs in with Microsoft and the app trades the code with its secret, no PKCE", async () => {
      const redirectUri = 'http://127.0.0.1:9/app/callback';
      const app = await addAppClient(service.store.db, {
        tenantDomain: tenant.seeded.domain,
        name: 'SecureLogin',
        redirectUris: [redirectUri],
      });
      const userId = await provision('lena@corp.example', {
        displayName: 'Lena de Vries',
        emails: [{ primary: true, type: 'work', value: 'lena@corp.example' }],
      });
      const browser = new Browser(service.url);
      const launched = await browser.get(`/sso/start?domain=${tenant.seeded.domain.toUpperCase()}`);
      expect(launched.status, excerpt(launched.text)).toBe(303);
      const authorize = new URL(launched.location!, service.url);
      expect(authorize.pathname).toBe('/oauth/authorize');
      expect(Object.fromEntries(authorize.searchParams)).toEqual({
        client_id: app.client.id,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'openid profile email',
        domain_hint: tenant.seeded.domain,
      });
      const started = await browser.follow(launched);
      const login = await settle(browser, started);
      expect(login.page.status, excerpt(login.page.text)).toBe(200);
      // Any user signs in to an app, not only a manager.
      expect(textOf(login.page.text, 'login-intro')).toBe(`Sign in with your SecureLogin account for ${tenant.seeded.domain}.`);
      entra.signInNext(person(tid, 'lena@corp.example'));
      let hop = await submit(browser, login.page, 'sso-form');
      while (!hop.location!.startsWith(redirectUri)) hop = await browser.get(hop.location!);
      const redirect = new URL(hop.location!);
      expect(redirect.searchParams.has('state')).toBe(false);
      const code = redirect.searchParams.get('code')!;
      const answer = await send(new URL('/oauth/token', service.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${app.client.id}:${app.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }).toString(),
      });
      expect(answer.status, answer.text).toBe(200);
      const claims = decodeJwt(JSON.parse(answer.text).id_token);
      expect(claims).toMatchObject({
        sub: `${tenant.seeded.tenantId}:${userId}`,
        name: 'Lena de Vries',
        email: 'lena@corp.example',
        preferred_username: 'lena@corp.example',
        securelogin_domain: tenant.seeded.domain,
      });

      // A second app: the URL must say which; naming it works, a public app cannot be launched so.
      const second = await addAppClient(service.store.db, {
        tenantDomain: tenant.seeded.domain,
        name: 'SecureLogin beta',
        redirectUris: [redirectUri],
      });
      const several = await browser.get(`/sso/start?domain=${tenant.seeded.domain}`);
      expect(several.status).toBe(400);
      expect(textOf(several.text, 'page-title') ?? several.text).toContain('Which SecureLogin app?');
      const named = await browser.get(`/sso/start?domain=${tenant.seeded.domain}&client_id=${second.client.id}`);
      expect(named.status).toBe(303);
      expect(new URL(named.location!, service.url).searchParams.get('client_id')).toBe(second.client.id);
      const desktop = await addAppClient(service.store.db, {
        tenantDomain: tenant.seeded.domain,
        name: 'Desktop',
        redirectUris: [redirectUri],
        isPublic: true,
      });
      const publicApp = await browser.get(`/sso/start?domain=${tenant.seeded.domain}&client_id=${desktop.client.id}`);
      expect(publicApp.status).toBe(404);
    });

    it('a sign-on URL of an unknown domain, or of a tenant without a confidential app, is a page saying so (404), in Dutch too', async () => {
      const browser = new Browser(service.url, { headers: { 'accept-language': 'nl' } });
      const unknown = await browser.get('/sso/start?domain=nobody.example');
      expect(unknown.status).toBe(404);
      expect(unknown.text).toContain('Onbekende organisatie');
      expect(unknown.text).toContain('nobody.example');
      for (const bad of ['/sso/start', '/sso/start?domain=%00', '/sso/start?domain=a&domain=b', '/sso/start?domain=not%20a%20domain']) {
        expect((await browser.get(bad)).status, bad).toBe(404);
      }
      const plain = await seedTenant(service.store);
      await addAppClient(service.store.db, {
        tenantDomain: plain.domain,
        name: 'Desktop',
        redirectUris: ['http://127.0.0.1:9/cb'],
        isPublic: true,
      });
      const none = await new Browser(service.url).get(`/sso/start?domain=${plain.domain}`);
      expect(none.status).toBe(404);
      expect(none.text).toContain('No SecureLogin app to open');
    });

    it('says nothing of Microsoft for a tenant without SSO', async () => {
      const plain = await seedTenant(service.store);
      const started = await startAuthorize(service, { clientId: plain.client.clientId });
      const login = await goToDomain(started.browser, started.page, plain.domain);
      expect(login.status).toBe(200);
      expect(login.text).not.toContain('sso-form');
      expect(login.text).not.toContain('Microsoft');
    });
  });
}

describe('Sign in with Microsoft without an app registration', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('shows no Microsoft button even for a tenant that set SSO, and the callback refuses', async () => {
    const seeded = await seedTenant(service.store);
    await setSso(service.store.db, seeded.domain, { entraTenantId: randomUUID(), required: true });
    const started = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(started.browser, started.page, seeded.domain);
    expect(login.text).not.toContain('Microsoft');
    expect(login.text).not.toContain('<details');
    const callback = await fetch(`${service.url}/sso/callback?code=x&state=y`);
    expect(callback.status).toBe(400);
  });
});
