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

/** The element's attributes: its opening tag, or '' when the page has none with that id. */
function tagOf(html: string, id: string): string {
  return new RegExp(`<\\w+[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0] ?? '';
}

function authorizeQuery(clientId: string, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    client_id: clientId,
    redirect_uri: ENTRA_REDIRECT_URI,
    response_type: 'code',
    state: 's',
    ...extra,
  }).toString();
}

describe('every page in the visitor’s language', () => {
  const dutch = { 'accept-language': 'nl-NL,nl;q=0.9' };

  it('the 404 page, in Dutch and in English', async () => {
    const nl = await new Browser(service.url, { headers: dutch }).get('/nergens');
    expect(nl.status).toBe(404);
    expect(nl.text).toContain('<html lang="nl">');
    expect(textOf(nl.text, 'page-title')).toBe('Pagina niet gevonden');
    expect(excerpt(nl.text)).not.toMatch(/Page not found|nothing at this address/);
    const en = await new Browser(service.url, { headers: { 'accept-language': 'en-GB' } }).get('/nowhere');
    expect(textOf(en.text, 'page-title')).toBe('Page not found');
  });

  it("the provider's error pages: our own Dutch sentence, never its English description", async () => {
    const seeded = await seedTenant(service.store);
    const browser = new Browser(service.url, { headers: dutch });
    const unregistered = await browser.get(
      `/oauth/authorize?${authorizeQuery(seeded.client.clientId, { redirect_uri: 'https://attacker.example/steal' })}`,
    );
    expect(unregistered.status).toBe(400);
    expect(unregistered.location).toBeUndefined();
    expect(unregistered.text).toContain('<html lang="nl">');
    expect(textOf(unregistered.text, 'page-title')).toBe('Niet-geregistreerd terugkeeradres');
    expect(unregistered.text).not.toContain('id="error-detail"');
    expect(excerpt(unregistered.text)).not.toMatch(/redirect_uri|registered|did not match/);

    const unknown = await browser.get(`/oauth/authorize?${authorizeQuery('no-such-client')}`);
    expect(unknown.status).toBe(400);
    expect(textOf(unknown.text, 'page-title')).toBe('Onbekende toepassing');
    expect(excerpt(unknown.text)).not.toMatch(/client is invalid|not found/i);

    // In English the provider's description is there, as a detail for the developer.
    const english = await new Browser(service.url).get(
      `/oauth/authorize?${authorizeQuery(seeded.client.clientId, { redirect_uri: 'https://attacker.example/steal' })}`,
    );
    expect(textOf(english.text, 'page-title')).toBe('Unregistered return address');
    expect(textOf(english.text, 'error-detail')).toMatch(/^Details for the application’s developer: .*redirect_uri/);
  });

  it('the language the Authorize asks for (ui_locales) wins over the browser’s', async () => {
    const seeded = await seedTenant(service.store);
    const browser = new Browser(service.url, { headers: { 'accept-language': 'en-US,en;q=0.9' } });
    const first = await browser.get(`/oauth/authorize?${authorizeQuery(seeded.client.clientId, { ui_locales: 'fr-FR nl-BE' })}`);
    const page = await browser.follow(first);
    expect(page.text).toContain('<html lang="nl">');
    expect(textOf(page.text, 'page-title')).toBe('Ga naar domein');
    const login = await goToDomain(browser, page, seeded.domain);
    expect(textOf(login.text, 'login-submit')).toBe('Aanmelden');
    // Unknown languages only: the browser's.
    const other = await browser.follow(
      await browser.get(`/oauth/authorize?${authorizeQuery(seeded.client.clientId, { ui_locales: 'de fr' })}`),
    );
    expect(textOf(other.text, 'page-title')).toBe('Go to domain');
  });

  it('a Dutch locked-out manager reads "tijdelijk geblokkeerd", and is told to ask the SecureLogin-administrator', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId, headers: dutch });
    const login = await goToDomain(browser, page, seeded.domain);
    expect(excerpt(login.text)).toContain('SecureLogin-beheerdersaccount');
    let answer = login;
    for (let attempt = 0; attempt < 5; attempt += 1) answer = await signIn(browser, login, seeded.manager.username, `wrong ${attempt}`);
    expect(answer.status).toBe(429);
    const said = errorText(answer, 'login-error');
    expect(said).toContain('tijdelijk geblokkeerd');
    expect(said).toContain('SecureLogin-administrator');
    expect(said).not.toMatch(/gepauzeerd|SecureLogin-beheerder\b/);
  });
});

describe('the back button after the Authorize finished', () => {
  it('after Allow, the consent and sign-in pages say it is done, not "expired, authorize again"', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(browser, page, seeded.domain);
    const consent = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    const redirect = await decide(browser, consent, 'allow');
    expect(redirect.searchParams.get('code')).toBeTruthy();

    for (const url of [consent.url, login.url, page.url]) {
      const back = await browser.get(url);
      expect(back.status, url).toBe(200);
      expect(textOf(back.text, 'page-title')).toBe('Access was allowed');
      expect(textOf(back.text, 'finished-message')).toContain('You do not need to click Authorize again');
      expect(back.text).not.toContain('id="consent-allow"');
      expect(excerpt(back.text)).not.toContain('expired');
    }
    // Another browser, which did not finish it, is told it is gone.
    const stranger = await new Browser(service.url).get(consent.url);
    expect(stranger.status).toBe(400);
    expect(textOf(stranger.text, 'page-title')).toBe('This sign-in has expired');
  });

  it('after Deny, in Dutch: it is done and was denied; to connect, Autoriseren again', async () => {
    const seeded = await seedTenant(service.store);
    const headers = { 'accept-language': 'nl' };
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId, headers });
    const consent = await signIn(browser, await goToDomain(browser, page, seeded.domain), seeded.manager.username, seeded.manager.password);
    await decide(browser, consent, 'deny');
    const back = await browser.get(consent.url);
    expect(back.status).toBe(200);
    expect(textOf(back.text, 'page-title')).toBe('Toegang is geweigerd');
    expect(textOf(back.text, 'finished-message')).toContain('klik opnieuw op Autoriseren');
  });

  it('a marker cookie that was tampered with counts for nothing', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const consent = await signIn(browser, await goToDomain(browser, page, seeded.domain), seeded.manager.username, seeded.manager.password);
    await decide(browser, consent, 'allow');
    const marker = browser.cookies.find((cookie) => cookie.name === 'slc_finished');
    expect(marker).toBeDefined();
    marker!.value = marker!.value.replace(/\.a(~|$)/, '.d$1');
    const back = await browser.get(consent.url);
    expect(back.status).toBe(400);
    expect(textOf(back.text, 'page-title')).toBe('This sign-in has expired');
  });
});

describe('a consent page that must refuse', () => {
  it('a tenant disabled while the page is open: reloaded or submitted, it says so and offers no Allow', async () => {
    const seeded = await seedTenant(service.store, { name: 'Acme Corporation' });
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const consent = await signIn(browser, await goToDomain(browser, page, seeded.domain), seeded.manager.username, seeded.manager.password);
    expect(tagOf(consent.text, 'consent-allow')).not.toBe('');
    await setTenantDisabled(service.store.db, seeded.domain, true);

    const submitted = await submit(browser, consent, 'consent-form', { decision: 'allow' });
    const reloaded = await browser.get(consent.url);
    for (const answer of [submitted, reloaded]) {
      expect(answer.status).toBe(403);
      expect(textOf(answer.text, 'page-title')).toBe('Access cannot be allowed');
      expect(errorText(answer, 'consent-refusal')).toBe('The tenant Acme Corporation is disabled, so access cannot be allowed.');
      expect(answer.text).not.toContain('id="consent-allow"');
      expect(answer.text).not.toContain('id="consent-means"');
      expect(tagOf(answer.text, 'consent-deny')).not.toBe('');
    }
  });

  it('a manager disabled meanwhile, in Dutch: no Toestaan button', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId, headers: { 'accept-language': 'nl' } });
    const consent = await signIn(browser, await goToDomain(browser, page, seeded.domain), seeded.manager.username, seeded.manager.password);
    await disableAccount(service.store.db, seeded.domain, seeded.manager.username);
    const refused = await submit(browser, consent, 'consent-form', { decision: 'allow' });
    expect(refused.status).toBe(403);
    expect(textOf(refused.text, 'page-title')).toBe('Toegang kan niet worden toegestaan');
    expect(errorText(refused, 'consent-refusal')).toContain('is uitgeschakeld');
    expect(refused.text).not.toContain('id="consent-allow"');
  });
});

describe('the reference id, and the favicon', () => {
  it('the reference id is on error pages, matching X-Request-Id, and not on the pages of a sign-in that goes well', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(browser, page, seeded.domain);
    const consent = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    for (const happy of [page, login, consent]) {
      expect(happy.status).toBe(200);
      expect(happy.text, happy.url).not.toContain('class="reference"');
      expect(happy.text).not.toContain(happy.headers.get('x-request-id'));
    }
    const expired = await new Browser(service.url).get('/oauth/interaction/nothing-here');
    const notFound = await new Browser(service.url).get('/no-such-page');
    const provider = await new Browser(service.url).get(`/oauth/authorize?${authorizeQuery('no-such-client')}`);
    for (const error of [expired, notFound, provider]) {
      expect(error.status).toBeGreaterThanOrEqual(400);
      expect(textOf(error.text, 'reference'), error.url).toBe(error.headers.get('x-request-id'));
    }
  });

  it('a favicon: linked from every page, and /favicon.ico answers with it', async () => {
    const browser = new Browser(service.url);
    const page = await browser.get('/no-such-page');
    expect(page.text).toContain('<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">');
    for (const path of ['/favicon.ico', '/static/favicon.svg']) {
      const icon = await browser.get(path);
      expect(icon.status, path).toBe(200);
      expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
      expect(icon.text).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
  });
});

describe('focus', () => {
  it('after a wrong password the password field has the focus (autofocus, no script), the username kept', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, page } = await startAuthorize(service, { clientId: seeded.client.clientId });
    const login = await goToDomain(browser, page, seeded.domain);
    expect(tagOf(login.text, 'username')).toContain('autofocus');
    expect(tagOf(login.text, 'password')).not.toContain('autofocus');

    const wrong = await signIn(browser, login, seeded.manager.username, 'wrong password indeed');
    expect(wrong.status).toBe(400);
    expect(tagOf(wrong.text, 'password')).toContain('autofocus');
    expect(tagOf(wrong.text, 'password')).toContain('aria-invalid="true"');
    expect(tagOf(wrong.text, 'username')).not.toContain('autofocus');
    expect(formIn(wrong.text, 'login-form').fields.username).toBe(seeded.manager.username);
    expect(wrong.text.match(/\bautofocus\b/g)).toHaveLength(1);

    // Nothing typed: the username first.
    const empty = await signIn(browser, login, '', '');
    expect(tagOf(empty.text, 'username')).toContain('autofocus');
    expect(tagOf(empty.text, 'password')).not.toContain('autofocus');
  });
});
