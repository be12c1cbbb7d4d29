/// <reference lib="dom" />
// Sign in with Microsoft, in a real Chromium against the real server process,
// set up with the real CLI, federated to the stand-in Entra (a test double of
// Microsoft on a loopback port; it has no sign-in page of its own and answers
// at once for the person told to sign in next). Entra's portal and the
// SecureLogin app's redirect URI are the two addresses not reached: the
// browser's requests to them are answered locally, and the URL each was sent
// to is what the test checks.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../server/web/index.ts';
import { type EntraPerson, type StandInEntra, startStandInEntra } from '../test/support/entra.ts';
import { entraUser } from '../test/support/scim.ts';
import { freePort } from '../test/support/service.ts';
import { keepScreenshot, launchChromium } from './browser.ts';

const ENTRA_PORTAL = 'https://portal.azure.com/TokenAuthorize';
const DOMAIN = 'contoso.example';
const MANAGER = 'alice@contoso.example';
const USER = 'lena@contoso.example';
const ENTRA_TENANT = randomUUID();

/** The SecureLogin app's redirect URI: a loopback server of this test, which only shows where it was sent. */
let appServer: http.Server;
let APP_REDIRECT: string;
let appLanded: URL | undefined;
let dataDir: string;
let baseUrl: string;
let entra: StandInEntra;
let server: ChildProcess;
let browser: Browser;
let provisioning: { client_id: string; client_secret: string };
let app: { client_id: string; client_secret: string };

/** What (a) leaves for (b) and (c): Entra's SCIM token, and the app's tokens of the provisioned user. */
let scimToken: string;
let userId: string;
let appAccessToken: string;
/** The user's Microsoft account, linked at their first sign-in in (b). */
let lena: EntraPerson;

function cli(args: string[], input?: string): string {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bin/securelogin.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PUBLIC_URL: baseUrl, LOG_LEVEL: 'silent' },
    input,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`securelogin ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the server did not become ready');
}

beforeAll(async () => {
  entra = await startStandInEntra();
  appServer = http.createServer((request, response) => {
    appLanded = new URL(request.url ?? '/', APP_REDIRECT);
    response.setHeader('content-type', 'text/html');
    response.end('<!doctype html><title>The SecureLogin app</title><h1>The SecureLogin app</h1>');
  });
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  APP_REDIRECT = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}/callback`;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-e2e-sso-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  cli(['tenant', 'add', DOMAIN, '--name', 'Contoso']);
  cli(['manager', 'add', DOMAIN, MANAGER, '--password-stdin'], 'correct horse battery staple\n');
  provisioning = JSON.parse(cli(['client', 'add', DOMAIN, '--json']));
  app = JSON.parse(cli(['client', 'add', DOMAIN, '--app', '--name', 'SecureLogin', '--redirect-uri', APP_REDIRECT, '--json']));
  cli(['sso', 'set', DOMAIN, '--entra-tenant', ENTRA_TENANT]);

  server = spawn(process.execPath, [path.join(ROOT, 'server/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      PUBLIC_URL: baseUrl,
      LOG_LEVEL: 'warn',
      ENTRA_CLIENT_ID: entra.clientId,
      ENTRA_CLIENT_SECRET: entra.clientSecret,
      ENTRA_AUTHORITY: entra.authority,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForReady(baseUrl);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await entra?.stop();
  appServer?.closeAllConnections();
  await new Promise((resolve) => (appServer ? appServer.close(resolve) : resolve(undefined)));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A browser whose requests to Entra's portal are answered here, remembering where they went. */
async function newPage(): Promise<{ context: BrowserContext; page: Page; landed: () => URL | undefined }> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
  let landedAt: URL | undefined;
  await context.route('https://portal.azure.com/**', (route) => {
    landedAt = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Entra</title><h1>Back in Entra</h1>' });
  });
  appLanded = undefined;
  return { context, page: await context.newPage(), landed: () => landedAt ?? appLanded };
}

async function seeHeading(page: Page, text: string): Promise<void> {
  try {
    await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ timeout: 10_000 });
  } catch (error) {
    await keepScreenshot(page, `sso-failed-${Date.now()}`);
    throw new Error(`no heading "${text}"; the page at ${page.url()} says: ${await page.locator('body').textContent()}`, { cause: error });
  }
}

function microsoftAccount(preferredUsername: string, name: string): EntraPerson {
  return { oid: randomUUID(), tid: ENTRA_TENANT, preferredUsername, name };
}

async function scim(method: string, resource: string, body?: unknown): Promise<Response> {
  return fetch(`${baseUrl}/scim/v2${resource}`, {
    method,
    headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function token(client: { client_id: string; client_secret: string }, params: Record<string, string>) {
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  const response = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

describe('Sign in with Microsoft in Chromium', () => {
  it("(a) an Entra admin's Authorize: a manager signs in with Microsoft, allows access, and the token passes Test Connection", async () => {
    const { context, page, landed } = await newPage();
    const authorize = new URL('/oauth/authorize', baseUrl);
    authorize.search = new URLSearchParams({
      client_id: provisioning.client_id,
      redirect_uri: ENTRA_PORTAL,
      response_type: 'code',
      state: 'sso-state',
    }).toString();
    await page.goto(authorize.toString());
    await seeHeading(page, 'Go to domain');
    await page.getByRole('button', { name: 'Go' }).click();

    await seeHeading(page, 'Sign in to Contoso');
    const microsoft = page.getByRole('button', { name: 'Sign in with Microsoft' });
    // First on the page, before the password form, and where the cursor starts.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sso-submit');
    await keepScreenshot(page, 'sso-1-sign-in-with-microsoft');
    entra.signInNext(microsoftAccount(MANAGER, 'Alice Manager'));
    await microsoft.click();

    await seeHeading(page, 'Allow access');
    expect(await page.locator('main').textContent()).toContain(MANAGER);
    await keepScreenshot(page, 'sso-2-consent-after-microsoft');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/^https:\/\/portal\.azure\.com\//);
    const back = landed()!;
    expect(`${back.origin}${back.pathname}`).toBe(ENTRA_PORTAL);
    expect(back.searchParams.get('state')).toBe('sso-state');
    const code = back.searchParams.get('code');
    expect(code).toBeTruthy();
    await context.close();

    const tokens = await token(provisioning, { grant_type: 'authorization_code', code: code!, redirect_uri: ENTRA_PORTAL });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(tokens.body.scope).toBe('scim');
    scimToken = tokens.body.access_token;
    const testConnection = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`);
    expect(testConnection.status).toBe(200);
    expect(await testConnection.json()).toMatchObject({ totalResults: 0 });
  });

  it('(b) a user provisioned over SCIM opens the sign-on URL, signs in with Microsoft, and the app gets an ID token with the claims', async () => {
    expect(scimToken, 'needs the SCIM token of (a)').toBeTruthy();
    const created = await scim(
      'POST',
      '/Users',
      entraUser(USER, {
        displayName: 'Lena de Vries',
        name: { givenName: 'Lena', familyName: 'de Vries', formatted: 'Lena de Vries' },
        emails: [{ primary: true, type: 'work', value: 'lena.devries@contoso.example' }],
      }),
    );
    expect(created.status).toBe(201);
    userId = ((await created.json()) as { id: string }).id;

    // The URL the operator pastes into Entra, as `sso show` prints it.
    const shown = JSON.parse(cli(['sso', 'show', DOMAIN, '--json']));
    expect(shown.sign_on_url).toBe(`${baseUrl}/sso/start?domain=${DOMAIN}`);
    expect(shown.sign_on_apps.map((a: { client_id: string }) => a.client_id)).toEqual([app.client_id]);

    const { context, page, landed } = await newPage();
    // What a click on the SecureLogin tile in My Apps does.
    await page.goto(shown.sign_on_url);
    // No Go to domain page: the sign-on URL named the tenant.
    await seeHeading(page, 'Sign in to Contoso');
    // Any user of the tenant signs in to an app, not only its managers.
    expect(await page.locator('#login-intro').textContent()).toBe(`Sign in with your SecureLogin account for ${DOMAIN}.`);
    await keepScreenshot(page, 'sso-3-sign-on-url-lands-on-sign-in');
    lena = microsoftAccount(USER, 'Lena de Vries');
    entra.signInNext(lena);
    await page.getByRole('button', { name: 'Sign in with Microsoft' }).click();
    // No consent page for SecureLogin's own app: straight back to it.
    await page.waitForURL((url) => url.href.startsWith(APP_REDIRECT));
    await keepScreenshot(page, 'sso-4-back-in-the-app');
    const back = landed()!;
    expect(`${back.origin}${back.pathname}`).toBe(APP_REDIRECT);
    const code = back.searchParams.get('code');
    expect(code).toBeTruthy();
    await context.close();

    // The app's back end trades the code with its secret; a launch from My Apps carries no code_challenge.
    const tokens = await token(app, { grant_type: 'authorization_code', code: code!, redirect_uri: APP_REDIRECT });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    const jwks = createRemoteJWKSet(new URL('/oauth/jwks', baseUrl));
    const { payload } = await jwtVerify(tokens.body.id_token, jwks, { issuer: baseUrl, audience: app.client_id });
    expect(payload).toMatchObject({
      sub: expect.stringMatching(new RegExp(`:${userId}$`)),
      name: 'Lena de Vries',
      given_name: 'Lena',
      family_name: 'de Vries',
      email: 'lena.devries@contoso.example',
      preferred_username: USER,
      securelogin_domain: DOMAIN,
    });
    appAccessToken = tokens.body.access_token;
    const info = await fetch(`${baseUrl}/oauth/userinfo`, { headers: { authorization: `Bearer ${appAccessToken}` } });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ sub: payload.sub, preferred_username: USER });
  });

  it('(b) with SSO required, the sign-on URL shows no page of ours: Microsoft, then straight back to the app', async () => {
    cli(['sso', 'set', DOMAIN, '--entra-tenant', ENTRA_TENANT, '--require']);
    const { context, page, landed } = await newPage();
    const visited: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) visited.push(frame.url());
    });
    expect(lena, 'needs the account linked in (b)').toBeTruthy();
    entra.signInNext(lena);
    const asked = entra.authorizeRequests.length;
    await page.goto(`${baseUrl}/sso/start?domain=${DOMAIN}`);
    await page.waitForURL((url) => url.href.startsWith(APP_REDIRECT));
    expect(entra.authorizeRequests.length).toBe(asked + 1);
    expect(entra.authorizeRequests.at(-1)?.params.get('domain_hint')).toBe(DOMAIN);
    // The only document the browser showed is the app's: every step before it was a redirect.
    expect(visited.map((url) => new URL(url).origin)).toEqual([new URL(APP_REDIRECT).origin]);
    expect(landed()?.searchParams.get('code')).toBeTruthy();
    await context.close();
    cli(['sso', 'set', DOMAIN, '--entra-tenant', ENTRA_TENANT]);
  });

  it('(c) after SCIM sets the user active false, the app’s userinfo call with that access token fails', async () => {
    expect(appAccessToken, 'needs the app token of (b)').toBeTruthy();
    const disabled = await scim('PATCH', `/Users/${userId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', path: 'active', value: false }],
    });
    expect(disabled.status).toBe(200);
    const info = await fetch(`${baseUrl}/oauth/userinfo`, { headers: { authorization: `Bearer ${appAccessToken}` } });
    expect(info.status).toBe(401);
    expect(info.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });
});
