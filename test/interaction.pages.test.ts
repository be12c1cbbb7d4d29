import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addManager, disableAccount, ENTRA_REDIRECT_URI, setTenantDisabled } from '../server/directory/index.ts';
import {
  authorizeCode,
  Browser,
  decide,
  excerpt,
  formIn,
  goToDomain,
  type Response,
  type SeededTenant,
  seedTenant,
  signIn,
  startAuthorize,
  submit,
  textOf,
} from './support/authorize.ts';
import { provisionedUserRow } from './support/rows.ts';
import { startService, type TestService } from './support/service.ts';

let service: TestService;
beforeAll(async () => {
  service = await startService();
});
afterAll(async () => {
  await service?.stop();
});

function domainValue(page: Response): string {
  return formIn(page.text, 'domain-form').fields.domain;
}

function errorText(page: Response, id: string): string {
  return textOf(page.text, id) ?? `(no #${id}: ${excerpt(page.text)})`;
}

/** A user of the tenant who may sign in but is not a manager. */
async function addMember(seeded: SeededTenant, username: string, password: string) {
  await addManager(service.store.db, seeded.domain, username, password);
  await service.store.db
    .updateTable('users')
    .set({ role: 'member' })
    .where('tenant_id', '=', seeded.tenantId)
    .where('user_name', '=', username)
    .execute();
}

describe('Go to domain', () => {
  it("is prefilled with the tenant's domain when the client is bound to a tenant", async () => {
    const seeded = await seedTenant(service.store);
    const { page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    expect(textOf(page.text, 'page-title')).toBe('Go to domain');
    expect(domainValue(page)).toBe(seeded.domain);
    expect(page.text).toContain('<label for="domain">Domain</label>');
    expect(textOf(page.text, 'domain-submit')).toBe('Go');
  });

  it('is prefilled with the domain last used in this browser when the client serves any tenant', async () => {
    const seeded = await seedTenant(service.store, { anyTenant: true });
    const first = await startAuthorize(service, { clientId: seeded.client.clientId });
    expect(domainValue(first.page)).toBe('');
    const login = await goToDomain(first.browser, first.page, seeded.domain.toUpperCase());
    expect(login.status).toBe(200);
    const again = await startAuthorize(service, { clientId: seeded.client.clientId, browser: first.browser });
    expect(domainValue(again.page)).toBe(seeded.domain);
    // A new browser knows nothing.
    const other = await startAuthorize(service, { clientId: seeded.client.clientId });
    expect(domainValue(other.page)).toBe('');
  });

  it('accepts any spelling of a domain and names the normalised one in the login URL', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const answer = await submit(browser, page, 'domain-form', { domain: ` https://${seeded.domain.toUpperCase()}:443/login ` });
    expect(answer.status).toBe(303);
    expect(answer.location).toMatch(new RegExp(`^/oauth/interaction/[^/]+/login/${seeded.domain.replace(/\./g, '\\.')}$`));
  });

  it('an unknown domain: the same page with a clear message, and no redirect to what was typed', async () => {
    const seeded = await seedTenant(service.store, { anyTenant: true });
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    for (const typed of ['nowhere.example', 'https://evil.example/steal?x=1']) {
      const answer = await submit(browser, page, 'domain-form', { domain: typed });
      expect(answer.status).toBe(404);
      expect(answer.location).toBeUndefined();
      expect(formIn(answer.text, 'domain-form').fields.domain).toBe(typed);
      expect(errorText(answer, 'domain-error')).toMatch(/SecureLogin has no tenant with the domain (nowhere|evil)\.example/);
      expect(answer.text).toContain('aria-invalid="true"');
    }
  });

  it('an empty or malformed domain: the same page, saying what to type', async () => {
    const seeded = await seedTenant(service.store, { anyTenant: true });
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const empty = await submit(browser, page, 'domain-form', { domain: '  ' });
    expect(empty.status).toBe(400);
    expect(errorText(empty, 'domain-error')).toBe('Enter your SecureLogin domain.');
    const malformed = await submit(browser, page, 'domain-form', { domain: 'not a domain' });
    expect(malformed.status).toBe(400);
    expect(errorText(malformed, 'domain-error')).toContain('is not a domain');
  });

  it('a disabled tenant says so', async () => {
    const seeded = await seedTenant(service.store, { anyTenant: true });
    await setTenantDisabled(service.store.db, seeded.domain, true);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const answer = await submit(browser, page, 'domain-form', { domain: seeded.domain });
    expect(answer.status).toBe(403);
    expect(errorText(answer, 'domain-error')).toContain('is disabled');
  });

  it("a client bound to tenant A refuses tenant B's domain, on the form and in the login URL", async () => {
    const a = await seedTenant(service.store);
    const b = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: a.client.clientId });
    const answer = await submit(browser, page, 'domain-form', { domain: b.domain });
    expect(answer.status).toBe(403);
    expect(errorText(answer, 'domain-error')).toBe(
      `Microsoft Entra ID is set up for the domain ${a.domain} only. Enter ${a.domain}, or ask your SecureLogin administrator for the connection details of your own tenant.`,
    );
    // Typing B's login URL by hand gets the same refusal, for the page and for the form post.
    const path = new URL(page.url).pathname;
    const direct = await browser.get(`${path}/login/${b.domain}`);
    expect(direct.status).toBe(403);
    expect(direct.text).not.toContain('id="login-form"');
    const { fields } = formIn(page.text, 'domain-form');
    const posted = await browser.post(`${path}/login/${b.domain}`, {
      csrf: fields.csrf,
      username: b.manager.username,
      password: b.manager.password,
    });
    expect(posted.status).toBe(403);
    expect(posted.location).toBeUndefined();
  });
});

describe('Tenant login', () => {
  it('names the tenant in its URL and heading, and leads back to Go to domain', async () => {
    const seeded = await seedTenant(service.store, { name: 'Acme Corporation' });
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(browser, page, seeded.domain);
    expect(login.url).toContain(`/login/${seeded.domain}`);
    expect(textOf(login.text, 'page-title')).toBe('Sign in to Acme Corporation');
    expect(login.text).toContain('<label for="username">Username</label>');
    expect(login.text).toContain('<label for="password">Password</label>');
    expect(login.text).toMatch(/<input type="password" id="password" name="password"/);
    const backHref = /id="back-to-domain" href="([^"]+)"/.exec(login.text)![1];
    const back = await browser.get(backHref);
    expect(back.status).toBe(200);
    expect(textOf(back.text, 'page-title')).toBe('Go to domain');
  });

  it('one message for a wrong password, an unknown user and a user without a password', async () => {
    const seeded = await seedTenant(service.store);
    await service.store.db.insertInto('users').values(provisionedUserRow(seeded.tenantId, 'provisioned@example.com')).execute();
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(browser, page, seeded.domain);
    const answers = [
      await signIn(browser, login, seeded.manager.username, 'wrong password indeed'),
      await signIn(browser, login, 'nobody@example.com', seeded.manager.password),
      await signIn(browser, login, 'provisioned@example.com', 'whatever password'),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(errorText(answer, 'login-error')).toBe('The username or password is incorrect.');
      expect(answer.text).not.toContain(seeded.manager.password);
    }
    const missing = await signIn(browser, login, '', '');
    expect(errorText(missing, 'login-error')).toBe('Enter your username and password.');
  });

  it('a disabled user is refused, but only after the right password', async () => {
    const seeded = await seedTenant(service.store);
    await disableAccount(service.store.db, seeded.domain, seeded.manager.username);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(browser, page, seeded.domain);
    const wrong = await signIn(browser, login, seeded.manager.username, 'wrong password indeed');
    expect(errorText(wrong, 'login-error')).toBe('The username or password is incorrect.');
    const right = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    expect(right.status).toBe(403);
    expect(errorText(right, 'login-error')).toBe('This account is disabled. Ask your SecureLogin administrator to enable it.');
  });
});

describe('Consent', () => {
  it('names the client, the tenant and its domain, the account, and what access means', async () => {
    const seeded = await seedTenant(service.store, { name: 'Acme Corporation' });
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const consent = await signIn(browser, await goToDomain(browser, page, seeded.domain), seeded.manager.username, seeded.manager.password);
    expect(consent.url).toMatch(/\/oauth\/interaction\/[^/]+\/consent$/);
    expect(textOf(consent.text, 'consent-client')).toBe('Microsoft Entra ID');
    expect(textOf(consent.text, 'consent-tenant')).toBe('Acme Corporation');
    expect(textOf(consent.text, 'consent-domain')).toBe(seeded.domain);
    expect(textOf(consent.text, 'consent-account')).toBe(seeded.manager.username);
    const text = consent.text.replace(/\s+/g, ' ');
    expect(text).toContain('create, update, disable and delete users');
    expect(text).toContain('create, update and delete groups');
    expect(text).toContain('add and remove members of groups');
    expect(textOf(consent.text, 'consent-allow')).toBe('Allow');
    expect(textOf(consent.text, 'consent-deny')).toBe('Deny');
  });

  it('Deny sends access_denied with the state to the registered redirect URI', async () => {
    const seeded = await seedTenant(service.store);
    const started = await startAuthorize(service, { clientId: seeded.client.clientId, state: 'opaque-state-123' });
    const consent = await signIn(
      started.browser,
      await goToDomain(started.browser, started.page, seeded.domain),
      seeded.manager.username,
      seeded.manager.password,
    );
    const redirect = await decide(started.browser, consent, 'deny');
    expect(`${redirect.origin}${redirect.pathname}`).toBe(ENTRA_REDIRECT_URI);
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('state')).toBe('opaque-state-123');
    expect(redirect.searchParams.get('code')).toBeNull();
  });

  it('a user who is not a manager sees why, cannot allow even by posting the form, and may deny', async () => {
    const seeded = await seedTenant(service.store);
    await addMember(seeded, 'member@example.com', 'Member password 123');
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const consent = await signIn(browser, await goToDomain(browser, page, seeded.domain), 'member@example.com', 'Member password 123');
    expect(consent.status).toBe(403);
    expect(errorText(consent, 'consent-refusal')).toBe(
      `Only a manager of ${seeded.name} can allow this. You are signed in as member@example.com, who is not a manager.`,
    );
    expect(consent.text).not.toContain('id="consent-allow"');
    expect(consent.text).toContain('id="start-again"');

    const forced = await submit(browser, consent, 'consent-form', { decision: 'allow' });
    expect(forced.status).toBe(403);
    expect(forced.location).toBeUndefined();
    const denied = await decide(browser, consent, 'deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
  });

  it('a manager disabled while the consent page is open cannot allow', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const consent = await signIn(browser, await goToDomain(browser, page, seeded.domain), seeded.manager.username, seeded.manager.password);
    expect(consent.status).toBe(200);
    await disableAccount(service.store.db, seeded.domain, seeded.manager.username);
    const refused = await submit(browser, consent, 'consent-form', { decision: 'allow' });
    expect(refused.status).toBe(403);
    expect(errorText(refused, 'consent-refusal')).toContain('is disabled');
  });

  it('every Authorize starts signed out: the next one in the same browser asks for the domain and the password again', async () => {
    const seeded = await seedTenant(service.store);
    const flow = { clientId: seeded.client.clientId, domain: seeded.domain, ...seeded.manager };
    const { browser } = await authorizeCode(service, flow);
    const again = await startAuthorize(service, { clientId: seeded.client.clientId, browser });
    expect(textOf(again.page.text, 'page-title')).toBe('Go to domain');
    // Disabled meanwhile: the old browser session does not let them through.
    await disableAccount(service.store.db, seeded.domain, seeded.manager.username);
    const login = await goToDomain(browser, again.page, seeded.domain);
    const refused = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    expect(refused.status).toBe(403);
  });
});

describe('every form is CSRF-protected', () => {
  it('a post without the token, with a wrong one, or with the token of another interaction is refused', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const other = await startAuthorize(service, { clientId: seeded.client.clientId });
    const { action, fields } = formIn(page.text, 'domain-form');
    const foreign = formIn(other.page.text, 'domain-form').fields.csrf;
    for (const csrf of [undefined, '', 'forged', foreign]) {
      const form: Record<string, string> = { domain: seeded.domain };
      if (csrf !== undefined) form.csrf = csrf;
      const answer = await browser.post(action, form);
      expect(answer.status).toBe(403);
      expect(answer.location).toBeUndefined();
      expect(excerpt(answer.text)).toContain('This form could not be verified');
    }
    // The genuine token works.
    expect((await browser.post(action, fields)).status).toBe(303);
  });

  it('the login and consent forms too', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(browser, page, seeded.domain);
    const loginForm = formIn(login.text, 'login-form');
    const noToken = await browser.post(loginForm.action, { username: seeded.manager.username, password: seeded.manager.password });
    expect(noToken.status).toBe(403);
    const consent = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    const consentForm = formIn(consent.text, 'consent-form');
    const forged = await browser.post(consentForm.action, { decision: 'allow', csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(forged.location).toBeUndefined();
  });
});

describe('an interaction that is gone', () => {
  it('an unknown, expired or foreign interaction shows a page a person understands', async () => {
    const seeded = await seedTenant(service.store);
    const stranger = new Browser(service.url);
    const unknown = await stranger.get('/oauth/interaction/does-not-exist');
    expect(unknown.status).toBe(400);
    expect(excerpt(unknown.text)).toContain('This sign-in has expired');
    expect(unknown.text).not.toMatch(/at \w+ \(|node_modules|SessionNotFound/);

    // Another browser's interaction: its cookie is not here.
    const { page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const foreign = await stranger.get(new URL(page.url).pathname);
    expect(foreign.status).toBe(400);
    expect(excerpt(foreign.text)).toContain('This sign-in has expired');

    // A finished Authorize cannot be resumed from its pages.
    const { browser } = await authorizeCode(service, { clientId: seeded.client.clientId, domain: seeded.domain, ...seeded.manager });
    const done = await browser.get(new URL(page.url).pathname);
    expect(done.status).toBe(400);
  });
});

describe('languages', () => {
  it('Dutch pages for a browser that prefers Dutch', async () => {
    const seeded = await seedTenant(service.store, { name: 'Acme BV' });
    const headers = { 'accept-language': 'nl-BE,nl;q=0.9,en;q=0.8' };
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId, headers });
    expect(page.text).toContain('<html lang="nl">');
    expect(textOf(page.text, 'page-title')).toBe('Ga naar domein');
    expect(textOf(page.text, 'domain-submit')).toBe('Ga');
    const login = await goToDomain(browser, page, seeded.domain);
    expect(textOf(login.text, 'page-title')).toBe('Aanmelden bij Acme BV');
    const wrong = await signIn(browser, login, seeded.manager.username, 'verkeerd wachtwoord');
    expect(errorText(wrong, 'login-error')).toBe('De gebruikersnaam of het wachtwoord is onjuist.');
    const consent = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    expect(textOf(consent.text, 'consent-allow')).toBe('Toestaan');
    expect(textOf(consent.text, 'consent-deny')).toBe('Weigeren');
  });

  it('English for anything else', async () => {
    const seeded = await seedTenant(service.store);
    const { page } = await startAuthorize(service, { clientId: seeded.client.clientId, headers: { 'accept-language': 'de-DE,fr;q=0.8' } });
    expect(page.text).toContain('<html lang="en">');
    expect(textOf(page.text, 'page-title')).toBe('Go to domain');
  });
});
